"""Write the malformed-input corpus in this folder (run once; the files are committed).

Usage: python tests/data/malformed/make_corpus.py

Each file has one defect; tests/io/malformed_cases.py lists the line and phrase its error must
carry. Files are written as bytes so that line ends and encodings are exactly as stated.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
REF = "// Reference=MNI\n"
GOOD = "// Smith 2010: tapping\n// Subjects=12\n-38\t-22\t56\n40 -20 54\n"
SECOND = "\n// Jones 2012: grip\n// Subjects=10\n-36\t-24\t58\n"

SLEUTH: dict[str, str | bytes] = {
    "empty.txt": "",
    "whitespace_only.txt": "\n   \n\t\n",
    "missing_reference.txt": GOOD,
    "unknown_space.txt": "// Reference=Dog\n" + GOOD,
    "only_comments.txt": "# exported by hand\n# nothing else\n",
    "no_experiments.txt": REF + "\n\n",
    "missing_subjects.txt": REF + "// Smith 2010: tapping\n-38 -22 56\n",
    "subjects_not_integer.txt": REF + "// Smith 2010: tapping\n// Subjects=twelve\n-38 -22 56\n",
    "subjects_fractional.txt": REF + "// Smith 2010: tapping\n// Subjects=12.5\n-38 -22 56\n",
    "subjects_zero.txt": REF + "// Smith 2010: tapping\n// Subjects=0\n-38 -22 56\n",
    "subjects_negative.txt": REF + "// Smith 2010: tapping\n// Subjects=-4\n-38 -22 56\n",
    "subjects_without_name.txt": REF + "// Subjects=10\n-38 -22 56\n",
    "repeated_subjects.txt": REF
    + "// Smith 2010: tapping\n// Subjects=12\n// Subjects=12\n1 2 3\n",
    "focus_two_columns.txt": REF + GOOD + "12\t-40\n",
    "focus_four_columns.txt": REF + GOOD + "12 -40 30 4.2\n",
    "focus_non_numeric.txt": REF + GOOD + "12 abc 30\n",
    "focus_nan.txt": REF + GOOD + "nan 10 30\n",
    "focus_inf.txt": REF + GOOD + "10 10 -inf\n",
    "focus_far_outside.txt": REF + GOOD + "12 -40 380\n",
    "focus_before_header.txt": REF + "-38 -22 56\n" + GOOD,
    "experiment_no_foci_middle.txt": REF + "// Smith 2010: tapping\n// Subjects=12\n" + SECOND,
    "experiment_no_foci_end.txt": REF + GOOD + "\n// Jones 2012: grip\n// Subjects=10\n\n",
    "name_after_subjects.txt": REF + "// Smith 2010: tapping\n// Subjects=12\n// Jones 2012\n"
    "// Subjects=10\n1 2 3\n",
    "duplicate_experiment.txt": REF + GOOD + "\n// Smith 2010: tapping\n// Subjects=9\n1 2 3\n",
    "conflicting_reference.txt": REF + GOOD + "\n// Reference=Talairach\n" + SECOND[1:],
    "binary.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
    "latin1.txt": (REF + "// M\u00fcller 2010: tapping\n// Subjects=12\n1 2 3\n").encode("latin-1"),
    "utf16.txt": (REF + GOOD).encode("utf-16"),
    "crlf_bad_focus.txt": (REF + GOOD + SECOND + "1 2\n").replace("\n", "\r\n"),
}

# Sleuth file (valid) + sidecar TSV with one defect each
SIDECARS: dict[str, str] = {
    "sidecar_unknown_scale": "experiment_id\toutcome_scale\toutcome_score\n"
    "Smith 2010: tapping\tGlasgow\t12\n",
    "sidecar_score_out_of_range": "experiment_id\toutcome_scale\toutcome_score\n"
    "Jones 2012: grip\tNIHSS\t2\nSmith 2010: tapping\tNIHSS\t50\n",
    "sidecar_missing_experiment": "experiment_id\tgroup\nSmith 2010: tapping\tstroke\n"
    "Nobody 2000: rest\tstroke\n",
    "sidecar_unknown_column": "experiment_id\tlesion side\nSmith 2010: tapping\tleft\n",
    "sidecar_no_id_column": "experiment\tgroup\nSmith 2010: tapping\tstroke\n",
    "sidecar_bad_days": "experiment_id\tdays_post_stroke\nSmith 2010: tapping\tthree weeks\n",
    "sidecar_negative_days": "experiment_id\tdays_post_stroke\nSmith 2010: tapping\t-3\n",
    "sidecar_bad_category": "experiment_id\tlesion_side\nSmith 2010: tapping\tmiddle\n",
    "sidecar_conflicting_n": "experiment_id\tn\nSmith 2010: tapping\t20\n",
    "sidecar_duplicate_row": "experiment_id\tgroup\nSmith 2010: tapping\tstroke\n"
    "Jones 2012: grip\thealthy\nSmith 2010: tapping\tstroke\n",
    "sidecar_score_without_scale": "experiment_id\toutcome_score\nSmith 2010: tapping\t40\n",
    "sidecar_bad_whole_brain": "experiment_id\twhole_brain\nSmith 2010: tapping\tmaybe\n",
    "sidecar_short_row": "experiment_id\tgroup\tlesion_side\nSmith 2010: tapping\tstroke\tleft\n"
    "Jones 2012: grip\tstroke\n",
    "sidecar_long_row": "experiment_id\tgroup\nSmith 2010: tapping\tstroke\tleft\n",
}


def _contrast(**meta: object) -> dict[str, object]:
    return {
        "coords": {"space": "MNI", "x": [-38.0, 40.0], "y": [-22.0, -20.0], "z": [56.0, 54.0]},
        "metadata": {"sample_sizes": [12], **meta},
    }


def _nimare() -> dict[str, str]:
    unequal = _contrast()
    unequal["coords"]["z"] = [56.0]  # type: ignore[index]
    string = _contrast()
    string["coords"]["x"] = [-38.0, "dog"]  # type: ignore[index]
    space = _contrast()
    space["coords"]["space"] = "Dog"  # type: ignore[index]
    far = _contrast()
    far["coords"]["y"] = [-22.0, -220.0]  # type: ignore[index]
    no_size = _contrast()
    no_size["metadata"] = {}
    docs: dict[str, object] = {
        "nimare_not_object.json": [1, 2],
        "nimare_no_contrasts.json": {"smith2010": {"coords": {}}},
        "nimare_unequal_coords.json": {"smith2010": {"contrasts": {"1": unequal}}},
        "nimare_string_coordinate.json": {"smith2010": {"contrasts": {"1": string}}},
        "nimare_unknown_space.json": {"smith2010": {"contrasts": {"1": space}}},
        "nimare_far_focus.json": {"smith2010": {"contrasts": {"1": far}}},
        "nimare_no_sample_size.json": {"smith2010": {"contrasts": {"1": no_size}}},
        "nimare_several_sample_sizes.json": {
            "smith2010": {"contrasts": {"1": _contrast(sample_sizes=[12, 14])}}
        },
        "nimare_zero_subjects.json": {
            "smith2010": {"contrasts": {"1": _contrast(sample_sizes=[0])}}
        },
        "nimare_unknown_scale.json": {
            "smith2010": {"contrasts": {"1": _contrast(outcome_scale="Glasgow")}}
        },
        "nimare_no_coordinates.json": {
            "smith2010": {
                "contrasts": {
                    "1": {"images": {"z": "z.nii.gz"}, "metadata": {"sample_sizes": [12]}}
                }
            }
        },
    }
    out = {name: json.dumps(doc, indent=1) + "\n" for name, doc in docs.items()}
    out["nimare_nan_coordinate.json"] = out["nimare_far_focus.json"].replace("-220.0", "NaN")
    out["nimare_invalid.json"] = '{\n "smith2010": {\n  "contrasts": {\n   "1": {,\n'
    out["nimare_empty.json"] = ""
    return out


TABLES: dict[str, dict[str, str]] = {
    "tables_missing_foci": {
        "experiments.tsv": "experiment_id\tn\tspace\nSmith 2010: tapping\t12\tMNI\n",
    },
    "tables_bad_n": {
        "experiments.tsv": "experiment_id\tn\tspace\nSmith 2010: tapping\t12\tMNI\n"
        "Jones 2012: grip\tten\tMNI\n",
        "foci.tsv": "experiment_id\tx\ty\tz\nSmith 2010: tapping\t1\t2\t3\n"
        "Jones 2012: grip\t1\t2\t3\n",
    },
    "tables_missing_column": {
        "experiments.tsv": "experiment_id\tn\nSmith 2010: tapping\t12\n",
        "foci.tsv": "experiment_id\tx\ty\tz\nSmith 2010: tapping\t1\t2\t3\n",
    },
    "tables_unknown_experiment": {
        "experiments.tsv": "experiment_id\tn\tspace\nSmith 2010: tapping\t12\tMNI\n",
        "foci.tsv": "experiment_id\tx\ty\tz\nSmith 2010: tapping\t1\t2\t3\nJones\t1\t2\t3\n",
    },
    "tables_bad_coordinate": {
        "experiments.tsv": "experiment_id\tn\tspace\nSmith 2010: tapping\t12\tMNI\n",
        "foci.tsv": "experiment_id\tx\ty\tz\nSmith 2010: tapping\tabc\t2\t3\n",
    },
    "tables_short_focus_row": {
        "experiments.tsv": "experiment_id\tn\tspace\nSmith 2010: tapping\t12\tMNI\n",
        "foci.tsv": "experiment_id\tx\ty\tz\nSmith 2010: tapping\t1\t2\t3\n"
        "Smith 2010: tapping\t1\t2\n",
    },
    "tables_bad_space": {
        "experiments.tsv": "experiment_id\tn\tspace\nSmith 2010: tapping\t12\tSPM\n",
        "foci.tsv": "experiment_id\tx\ty\tz\nSmith 2010: tapping\t1\t2\t3\n",
    },
}


def _write(path: Path, content: str | bytes) -> None:
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))


def main() -> None:
    for name, content in SLEUTH.items():
        _write(HERE / name, content)
    for stem, tsv in SIDECARS.items():
        _write(HERE / f"{stem}.txt", REF + GOOD + SECOND)
        _write(HERE / f"{stem}.metadata.tsv", tsv)
    for name, content in _nimare().items():
        _write(HERE / name, content)
    for folder, files in TABLES.items():
        (HERE / folder).mkdir(exist_ok=True)
        for name, content in files.items():
            _write(HERE / folder / name, content)
    _write(HERE / "unknown_extension.csv", "experiment_id,x,y,z\nSmith,1,2,3\n")


if __name__ == "__main__":
    main()
