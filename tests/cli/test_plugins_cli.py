"""`safetune transforms|judges|benchmarks [NAME]`: the plug-in tables and their parameters."""


def _rows(out: str) -> dict[str, str]:
    return {line.split()[1]: line for line in out.splitlines() if line.strip().startswith("│")}


def test_transforms_name_shows_parameters_with_type_default_and_choices(cli):
    code, out, _ = cli("transforms", "identity.inject")
    assert code == 0
    lines = {line.split()[1]: line for line in out.splitlines() if line.strip().startswith("│")}
    assert '"prefix"' in lines["placement"] and '"suffix"' in lines["placement"]
    assert "number" in lines["rate"] and "1.0" in lines["rate"] and "0 .. 1" in lines["rate"]
    code, _, err = cli("transforms", "identity.injct")
    assert code == 2 and "identity.inject" in err


def test_judges_lists_every_judge_and_shows_one_judges_options(cli):
    code, out, _ = cli("judges")
    assert code == 0 and set(_rows(out)) == {"classifier", "keyword", "llm", "refusal"}
    code, out, _ = cli("judges", "llm")
    rows = _rows(out)
    assert code == 0 and {"model", "url", "refuse_at", "api_key_env"} <= set(rows)
    assert "1 .. 4" in rows["refuse_at"]
    code, _, err = cli("judges", "refsual")
    assert code == 2 and "did you mean 'refusal'?" in err


def test_benchmarks_show_the_keys_a_spec_takes(cli):
    code, out, _ = cli("benchmarks", "xstest")
    rows = _rows(out)
    assert code == 0 and {"path", "n", "seed", "label", "map"} <= set(rows)
    assert '"train", "eval"' in rows["half"]


def test_transforms_listing_shows_each_transforms_level(cli):
    code, out, _ = cli("transforms")
    rows = _rows(out)
    assert code == 0 and "record" in rows["structure.markdown"] and "dataset" in rows["dedup"]
    code, out, _ = cli("transforms", "select.top_reward")
    assert code == 0 and "(required)" not in _rows(out)["count"]  # optional, no default: shown blank
