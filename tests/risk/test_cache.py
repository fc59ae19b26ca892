from safetune_data.risk.cache import FILE, ScoreCache, params_hash


def test_values_survive_a_reopen_and_namespaces_do_not_mix(tmp_path):
    cache = ScoreCache(tmp_path)
    cache.put_many("model-a|representation", {"row1": [0.5, -0.25], "row2": {"sq_norm": 3.0}})
    cache.close()
    again = ScoreCache(tmp_path)
    assert again.get_many("model-a|representation", ["row1", "row2", "row3"]) == {"row1": [0.5, -0.25], "row2": {"sq_norm": 3.0}}
    assert again.get_many("model-b|representation", ["row1"]) == {}
    assert (again.hits, again.misses) == (2, 2)
    assert (tmp_path / FILE).exists()


def test_memory_cache_writes_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cache = ScoreCache(None)
    cache.put_many("ns", {"k": 1})
    assert cache.get_many("ns", ["k"]) == {"k": 1}
    assert list(tmp_path.iterdir()) == []


def test_params_hash_ignores_key_order_but_not_values():
    assert params_hash({"k": 5, "pool": "last"}) == params_hash({"pool": "last", "k": 5})
    assert params_hash({"k": 5}) != params_hash({"k": 6})
