"""`proofboard-prover run|submit|status` (or `python -m prover_worker …`): the participant's
self-hosted prover."""
import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

from zkml.memory import memory_argument

from .client import ApiError, PlatformClient


def _print(msg: str) -> None:
    print(msg, flush=True)


def run(args: argparse.Namespace) -> int:
    """Download the revealed test set, prove locally, upload the proof, optionally wait for the verdict."""
    client = PlatformClient(args.platform, args.token)
    status = client.get_json(f"submissions/{args.submission}")
    if status["proof_mode"] != "self_hosted":
        _print(f"submission {args.submission} uses hosted proving; nothing to do here")
        return 2
    if not status["accepts_proof"]:  # the platform's rule (submissions/states.py), not re-derived here
        _print(f"submission {args.submission} is '{status['state']}', not waiting for a proof")
        return 2
    challenge = client.get_json(f"challenges/{status['challenge']}")
    # The proof is bound to this challenge and entry (the platform verifies with the same context).
    context = status["context"]
    if not challenge["revealed"]:
        _print(f"the test set of '{challenge['slug']}' is revealed at {challenge['reveal_at']}; try again then")
        return 3

    import zkml  # the proof system; weights never leave this machine

    # The model must be the one this entry committed to: otherwise proving wastes the time and the
    # proof could never verify. Checked before anything is proved or uploaded.
    model = zkml.QuantizedModel.load(str(args.model))
    commitment = zkml.Commitment.from_bytes(client.get_bytes(f"submissions/{args.submission}/commitment"))
    try:
        zkml.check_model_commitment(model, commitment)
    except zkml.CommitmentMismatchError as exc:
        _print(f"error: {args.model} is not the model of submission {args.submission}: {exc}. Use the MODEL.zkm "
               f"you made that submission's COMMIT.json from; nothing was proved or uploaded.")
        return 1
    # The shard size, planned before the download: a test set too large for the memory allowed
    # is known before anything is fetched.
    shard_size = args.shard_size
    if shard_size is None:
        from zkml.memory import default_budget, plan
        budget = default_budget() if args.max_memory is None else args.max_memory or None
        try:
            shard_size, line = plan(model.architecture(), int(challenge["test_set_size"]), budget)
        except zkml.ZkmlError as exc:
            _print(f"error: {exc}; nothing was proved or uploaded.")
            return 1
        if args.max_memory is not None or shard_size is not None:
            _print(line)

    with tempfile.TemporaryDirectory() as tmp:
        dataset_path = Path(tmp) / "test.npz"
        _print(f"downloading the test set of '{challenge['slug']}' ({challenge['test_set_size']} samples)…")
        client.download_test_set(challenge["slug"], dataset_path, challenge["test_set_sha256"])
        _print(f"  sha256 {challenge['test_set_sha256']} ✓")
        dataset = zkml.load_dataset(str(dataset_path))
        last = {"t": 0.0}

        def progress(stage: str, fraction: float) -> None:
            pct = max(0.0, min(1.0, float(fraction))) * 100
            now = time.monotonic()
            if now - last["t"] < args.report_every and pct < 100:
                return
            last["t"] = now
            _print(f"  [{pct:5.1f}%] {stage}")
            try:
                client.report_progress(args.submission, stage, pct)
            except (ApiError, OSError) as exc:
                _print(f"  (progress not reported: {exc})")

        _print(f"proving (context {context})…")
        started = time.monotonic()
        proof = zkml.prove(model, dataset, progress=progress, context=context, shard_size=shard_size)
        seconds = time.monotonic() - started
        proof_bytes = proof.to_bytes()
        _print(f"proved in {seconds:.1f}s: claims {proof.claimed_count}/{len(dataset.y)} correct, "
               f"proof {len(proof_bytes)} bytes")
        if args.out:
            Path(args.out).write_bytes(proof_bytes)
            _print(f"proof saved to {args.out}")
    answer = client.upload_proof(args.submission, proof_bytes, seconds)
    _print(f"uploaded; submission {args.submission} is now '{answer['state']}'")
    if args.wait:
        return _wait(client, args.submission, args.wait)
    return 0


def _wait(client: PlatformClient, submission: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get_json(f"submissions/{submission}")
        if status["final"]:
            if status["state"] == "verified":
                _print(f"verified: {status['correct_count']}/{status['total_count']} correct ({status['accuracy']:.2f}%)")
                return 0
            _print(f"{status['state']}: {status.get('reason')}")
            return 1
        time.sleep(1.0)
    _print("still waiting for verification; check the submission page")
    return 4


def submit(args: argparse.Namespace) -> int:
    """Upload COMMIT.json to a challenge (self-hosted mode); prints the new submission id."""
    client = PlatformClient(args.platform, args.token)
    answer = client.submit_commitment(args.challenge, Path(args.commitment).read_bytes())
    _print(f"submission {answer['id']} committed ({'late' if answer['late'] else 'on time'}); "
           f"{answer['remaining_today']} left today")
    return 0


def status(args: argparse.Namespace) -> int:
    """Print a submission's status."""
    s = PlatformClient(args.platform, args.token).get_json(f"submissions/{args.submission}")
    _print(f"{s['id']}: {s['state']} ({s['progress']['stage']} {s['progress']['percent']}%)"
           + (f" — {s['reason']}" if s.get("reason") else ""))
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of `proofboard-prover` and `python -m prover_worker`."""
    invoked = Path(sys.argv[0]).name
    prog = "python -m prover_worker" if invoked in ("__main__.py", "-m", "") else invoked
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--platform", required=True, help="platform URL, e.g. http://127.0.0.1:8000")
    common.add_argument("--token", required=True, help="API token (create one on /accounts/tokens/)")
    p_run = sub.add_parser("run", parents=[common], help="prove a submission locally and upload the proof")
    p_run.add_argument("--model", required=True, type=Path, help="MODEL.zkm (never uploaded)")
    p_run.add_argument("--submission", required=True, type=int)
    p_run.add_argument("--out", help="also save the proof here")
    size = p_run.add_mutually_exclusive_group()
    size.add_argument("--shard-size", type=int, default=None, metavar="SAMPLES",
                      help="prove SAMPLES samples at a time (bounds the prover's memory; zkml prove --shard-size)")
    size.add_argument("--max-memory", type=memory_argument, default=None, metavar="SIZE",
                      help="choose the shard size so that the prover's estimated peak memory stays under SIZE "
                           "(e.g. 8G; 0: no limit; default 3/4 of this machine's memory; zkml prove --max-memory)")
    p_run.add_argument("--wait", type=float, default=0, help="seconds to wait for the verification verdict")
    p_run.add_argument("--report-every", type=float, default=1.0, help="seconds between progress reports")
    p_run.set_defaults(func=run)
    p_sub = sub.add_parser("submit", parents=[common], help="upload COMMIT.json to a challenge")
    p_sub.add_argument("--challenge", required=True)
    p_sub.add_argument("--commitment", required=True, type=Path)
    p_sub.set_defaults(func=submit)
    p_st = sub.add_parser("status", parents=[common], help="show a submission's status")
    p_st.add_argument("--submission", required=True, type=int)
    p_st.set_defaults(func=status)
    args = parser.parse_args(argv)
    from zkml.errors import ZkmlError

    try:
        return args.func(args)
    except (ApiError, ZkmlError) as exc:
        _print(f"error: {exc}")
        return 1
    except OSError as exc:
        _print(f"error: cannot reach the platform or read a file: {exc}")
        return 1
