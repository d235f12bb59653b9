"""The malformed-input corpus: each file in tests/data/malformed/ and what its error must say.

Each entry is ``(filename, expected_line or None, expected phrase)``: loading
``MALFORMED_DIR / filename`` with :func:`biomark.io.datasets.load_dataset` must raise ``InputError``
whose one-line message names the file (its stem; for ``sidecar_*`` cases the sidecar
``<stem>.metadata.tsv``), carries ``expected_line`` as its line number, and contains the phrase.
The files are written by ``tests/data/malformed/make_corpus.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

MALFORMED_DIR: Final = Path(__file__).resolve().parents[1] / "data" / "malformed"

CASES: Final[list[tuple[str, int | None, str]]] = [
    # Sleuth text: structure
    ("empty.txt", None, "empty file"),
    ("whitespace_only.txt", None, "empty file"),
    ("only_comments.txt", None, "no Reference line"),
    ("missing_reference.txt", 1, "expected '// Reference=MNI'"),
    ("unknown_space.txt", 1, "unknown space 'Dog'"),
    ("conflicting_reference.txt", 7, "Reference line says TAL but the file began with MNI"),
    ("no_experiments.txt", None, "no experiments found"),
    ("focus_before_header.txt", 2, "focus line before any experiment"),
    ("subjects_without_name.txt", 2, "without an experiment name"),
    ("missing_subjects.txt", 3, "missing '// Subjects=N'"),
    ("repeated_subjects.txt", 4, "repeated '// Subjects=' line"),
    ("subjects_not_integer.txt", 3, "whole number of subjects in '// Subjects=N', got 'twelve'"),
    ("subjects_fractional.txt", 3, "whole number of subjects in '// Subjects=N', got '12.5'"),
    ("subjects_zero.txt", 3, "number of subjects must be > 0, got 0"),
    ("subjects_negative.txt", 3, "number of subjects must be > 0, got -4"),
    ("experiment_no_foci_middle.txt", 2, "'Smith 2010: tapping' has no foci"),
    ("experiment_no_foci_end.txt", 7, "'Jones 2012: grip' has no foci"),
    ("name_after_subjects.txt", 2, "'Smith 2010: tapping' has no foci"),
    ("duplicate_experiment.txt", 7, "duplicate experiment name"),
    # Sleuth text: focus rows
    ("focus_two_columns.txt", 6, "expected 3 coordinates (x y z), got 2"),
    ("focus_four_columns.txt", 6, "expected 3 coordinates (x y z), got 4"),
    ("crlf_bad_focus.txt", 10, "expected 3 coordinates (x y z), got 2"),
    ("focus_non_numeric.txt", 6, "coordinate y is not a number: 'abc'"),
    ("focus_nan.txt", 6, "coordinate x is not a finite number: 'nan'"),
    ("focus_inf.txt", 6, "coordinate z is not a finite number: '-inf'"),
    ("focus_far_outside.txt", 6, "outside any brain"),
    # Sleuth text: bytes and encodings
    ("binary.txt", 3, "binary file"),
    ("latin1.txt", 2, "not UTF-8 text (byte 0xfc)"),
    ("utf16.txt", None, "UTF-16 encoded"),
    # Sleuth sidecar (<stem>.metadata.tsv beside the .txt); lines are sidecar lines
    ("sidecar_unknown_scale.txt", 2, "unknown outcome scale 'Glasgow'"),
    ("sidecar_score_out_of_range.txt", 3, "NIHSS score 50 is outside the scale's range"),
    ("sidecar_score_without_scale.txt", 2, "outcome_score given without outcome_scale"),
    ("sidecar_missing_experiment.txt", 3, "'Nobody 2000: rest' is not in the Sleuth file"),
    ("sidecar_unknown_column.txt", 1, "unknown column 'lesion side'"),
    ("sidecar_no_id_column.txt", 1, "missing column(s) experiment_id"),
    ("sidecar_bad_days.txt", 2, "'days_post_stroke' expects a finite number, got 'three weeks'"),
    ("sidecar_negative_days.txt", 2, "days_post_stroke must be ≥ 0"),
    ("sidecar_bad_category.txt", 2, "lesion_side must be one of left, right; got 'middle'"),
    ("sidecar_bad_whole_brain.txt", 2, "'whole_brain' expects true/false, got 'maybe'"),
    ("sidecar_conflicting_n.txt", 2, "n is 20 here but 12 in the Sleuth file"),
    ("sidecar_duplicate_row.txt", 4, "listed twice (first at line 2)"),
    ("sidecar_short_row.txt", 3, "2 tab-separated fields where the header has 3"),
    ("sidecar_long_row.txt", 2, "3 tab-separated fields where the header has 2"),
    # NiMARE JSON
    ("nimare_empty.json", None, "empty file; expected a NiMARE dataset JSON object"),
    ("nimare_invalid.json", 4, "invalid JSON"),
    ("nimare_not_object.json", None, "expected a JSON object of studies, got a list"),
    ("nimare_no_contrasts.json", None, "smith2010: expected an object with a 'contrasts'"),
    ("nimare_no_coordinates.json", None, "no contrasts with coordinates found"),
    ("nimare_unequal_coords.json", None, "smith2010/1: coords.x, y, z have 2, 2, 1 values"),
    ("nimare_string_coordinate.json", None, "smith2010/1: coords.x[1] is 'dog'"),
    ("nimare_nan_coordinate.json", None, "smith2010/1: coords.y[1] is nan"),
    ("nimare_far_focus.json", None, "smith2010/1: coords.y[1] is -220.0, more than 150 mm"),
    ("nimare_unknown_space.json", None, "smith2010/1: unknown coords.space 'Dog'"),
    ("nimare_no_sample_size.json", None, "smith2010/1: no sample size"),
    ("nimare_several_sample_sizes.json", None, "smith2010/1: metadata.sample_sizes has 2 values"),
    ("nimare_zero_subjects.json", None, "smith2010/1: number of subjects must be > 0, got 0"),
    ("nimare_unknown_scale.json", None, "smith2010/1: unknown outcome scale 'Glasgow'"),
    # TSV folders
    ("tables_missing_foci", None, "dataset folder is missing foci.tsv"),
    ("tables_missing_column", 1, "missing column(s) space"),
    ("tables_bad_n", 3, "column 'n' expects a whole number, got 'ten'"),
    ("tables_bad_space", 2, "unknown space 'SPM'"),
    ("tables_bad_coordinate", 2, "column 'x' expects a finite number in mm, got 'abc'"),
    ("tables_unknown_experiment", 3, "focus refers to unknown experiment 'Jones'"),
    ("tables_short_focus_row", 3, "3 tab-separated fields where the header has 4"),
    # dispatch
    ("unknown_extension.csv", None, "unknown dataset format '.csv'"),
]
