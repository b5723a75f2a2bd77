"""The thread pool: results in order, and nested use (a parallel MSM inside a parallel row
commitment) runs serially instead of deadlocking."""
import threading

from zkml.arith import parallel


def test_pmap_keeps_order_and_nesting_does_not_deadlock(monkeypatch):
    monkeypatch.setenv("ZKML_THREADS", "2")
    assert parallel.pmap(lambda x: x * x, range(10)) == [x * x for x in range(10)]
    result = []

    def outer():
        result.append(parallel.pmap(lambda i: sum(parallel.pmap(lambda j: i * j, range(50))), range(8)))

    t = threading.Thread(target=outer, daemon=True)
    t.start()
    t.join(timeout=20)
    assert not t.is_alive(), "nested pmap deadlocked"
    assert result == [[i * sum(range(50)) for i in range(8)]]


def test_one_thread_runs_serially(monkeypatch):
    monkeypatch.setenv("ZKML_THREADS", "1")
    names = parallel.pmap(lambda _: threading.current_thread().name, range(4))
    assert names == [threading.current_thread().name] * 4


def test_fork_map_runs_items_in_child_processes_in_order(monkeypatch):
    import os as _os
    from zkml.arith.parallel import fork_map
    monkeypatch.setenv("ZKML_THREADS", "2")
    base = 7       # reaches the children through fork (a closure, not pickled)
    out = fork_map(lambda x: (x * base, _os.getpid(), _os.environ["ZKML_THREADS"]), [1, 2, 3])
    assert [v for v, _, _ in out] == [7, 14, 21]
    assert all(pid != _os.getpid() for _, pid, _ in out)
    assert {t for _, _, t in out} == {"1"}          # two processes share the two cores
    monkeypatch.setenv("ZKML_THREADS", "1")
    assert [pid for _, pid, _ in fork_map(lambda x: (x, _os.getpid(), ""), [1, 2])] == [_os.getpid()] * 2
