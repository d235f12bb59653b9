def test_flow_lists_what_an_empty_field_leaves_out():
    import pandas as pd

    from biomark.report.sections import flow_section

    audit = pd.DataFrame({"experiment_id": ["a"], "study_id": ["s"], "included": [True],
                          "reason": [""]})  # fmt: skip
    counts = pd.DataFrame({"title": ["All"], "experiments": [1], "subjects": [9], "foci": [3],
                           "duplicates_resolved": [0]})  # fmt: skip
    missing = pd.DataFrame({"experiment_id": ["a"], "field": ["task"],
                            "consequence": ["left out of: Patients, active tasks"]})  # fmt: skip
    flow = flow_section(audit, counts, (), missing)
    assert flow["left_out"]["rows"] == missing.to_dict("records")
    assert flow_section(audit, counts)["left_out"] is None
