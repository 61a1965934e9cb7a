"""Commands: retrain (train, evaluate, gate, promote), rollback, status, current."""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import List, Optional

from lifecycle import gate, split
from lifecycle.fleet import Fleet, urls_from
from lifecycle.registry import Registry, RegistryError, now, sha256_file
from lifecycle.serving import RasaServer, RasaUnreachable, ServingError

ROOT = Path(__file__).resolve().parents[1]
PROMOTED, REFUSED, FAILED = 0, 1, 2


# ---------------------------------------------------------------- helpers
def data_version(data_dir: Path, domain: Path, config: Path) -> str:
    """sha256 of every file under data/ (path and content), the domain and the config."""
    digest = hashlib.sha256()
    files = [(f"data/{p.relative_to(data_dir).as_posix()}", p)
             for p in sorted(Path(data_dir).rglob("*")) if p.is_file()]
    files += [("domain", Path(domain)), ("config", Path(config))]
    for label, path in files:
        digest.update(label.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def default_stories() -> List[Path]:
    """tests/test_stories.yml and the review inbox's export, tests/test_reviewed_stories.yml."""
    reviewed = [ROOT / "tests" / name for name in ("test_reviewed_stories.yml", "reviewed_stories.yml")]
    return [ROOT / "tests" / "test_stories.yml"] + [path for path in reviewed if path.exists()]


def stage_stories(stories: List[Path], target: Path) -> str:
    """Copy the story files into one folder with the test_ prefix Rasa wants; returns their hash."""
    target.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    for number, path in enumerate(stories):
        content = Path(path).read_bytes()
        digest.update(hashlib.sha256(content).digest())
        (target / f"test_{number}_{Path(path).name}").write_bytes(content)
    return digest.hexdigest()


def child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env["RASA_TELEMETRY_ENABLED"] = "false"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


# our components that ask the perception service (sentence embeddings, picture analyses) while
# training and evaluating; components.pattern_extractor, for one, doesn't
PERCEPTION_COMPONENTS = ("components.fusion_featurizer", "components.perception_featurizer",
                         "components.attachment_analyzer")


def check_perception(config: Path) -> None:
    """A config with one of PERCEPTION_COMPONENTS needs the perception service up."""
    import requests

    text = config.read_text(encoding="utf-8")
    if not any(component in text for component in PERCEPTION_COMPONENTS):
        return
    url = os.environ.get("PERCEPTION_URL", "http://127.0.0.1:8700")
    try:
        requests.get(f"{url}/health", timeout=5).raise_for_status()
    except requests.RequestException:
        raise RuntimeError(f"{config} needs the perception service at {url} (start it with 'make perception')")


def run_logged(command: List[str], log: Path, what: str) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        result = subprocess.run(command, cwd=ROOT, env=child_env(), stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise RuntimeError(f"{what} failed (exit {result.returncode}, log {log}):\n{tail}")


def evaluate(archive: Path, stories_dir: Path, heldout: Path, domain: Path, out: Path,
             log: Path) -> gate.Metrics:
    run_logged([sys.executable, "-m", "lifecycle.evaluate", "--model", str(archive), "--stories",
                str(stories_dir), "--nlu", str(heldout), "--domain", str(domain), "--out", str(out)],
               log, f"evaluating {archive.name}")
    return gate.Metrics.from_dict(json.loads((out / "metrics.json").read_text()))


def fleet_from(args) -> Optional[Fleet]:
    """Every Rasa instance to load into (lifecycle/fleet.py says which), None with --no-serve."""
    if args.no_serve:
        return None
    token = args.token or os.environ.get("RASA_TOKEN")
    token_file = ROOT / "var" / "rasa_token"
    if not token and token_file.is_file():
        token = token_file.read_text().strip()
    return Fleet([RasaServer(url, token or None) for url in urls_from(args.rasa_url, ROOT)])


def previous_finder(registry: Registry):
    """File name an instance served -> that archive (registry folder, then models/), or None."""
    def find(name: str) -> Optional[Path]:
        for folder in (registry.folder, ROOT / "models"):
            path = folder / Path(name).name
            if path.is_file():
                return path
        return None
    return find


def serve(fleet: Optional[Fleet], archive: Path, registry: Registry) -> str:
    """Load into every running instance; returns lines for the output. ServingError propagates
    (nothing changed, or PromotionError), except when no instance runs at all (then the next
    start serves the registry's current model)."""
    if fleet is None:
        return "not loaded into a server (--no-serve)"
    try:
        statuses = fleet.load(archive, previous_finder(registry))
    except RasaUnreachable:
        return f"no Rasa server at {fleet.urls}: the next start serves it (python -m lifecycle current)"
    return "\n".join(f"Rasa at {server.url} now serves {status.get('model_file')} "
                     f"(model_id {status.get('model_id')})"
                     for server, status in zip(fleet.servers, statuses))


# ---------------------------------------------------------------- commands
def retrain(args) -> int:
    registry = Registry(Path(args.models))
    data, domain, config = Path(args.data), Path(args.domain), Path(args.config)
    stories = [Path(s) for s in args.stories] if args.stories else default_stories()
    fleet = fleet_from(args)
    check_perception(config)
    with registry.locked():
        state = registry.load()
        current = registry.current(state)
        if state.get("heldout") is None or not registry.heldout_path.exists():
            count = split.write_heldout(data, registry.heldout_path)
            state["heldout"] = {"file": registry.heldout_path.name, "examples": count,
                                "sha256": sha256_file(registry.heldout_path), "made_at": now()}
            print(f"held-out split: {count} NLU examples frozen in {registry.heldout_path}")
        elif sha256_file(registry.heldout_path) != state["heldout"]["sha256"]:
            raise RegistryError(f"{registry.heldout_path} was changed on disk: refused")
        version = data_version(data, domain, config)
        model_id = f"parley-{datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S')}-{version[:8]}"
        registry.folder.mkdir(parents=True, exist_ok=True)
        logs = registry.folder / "logs"
        with tempfile.TemporaryDirectory(dir=registry.folder, prefix=".work-") as work_dir:
            work = Path(work_dir)
            kept, removed = split.training_copy(data, registry.heldout_path, work / "data")
            print(f"training {model_id} on {kept} NLU examples ({removed} held out), config {config}")
            started = time.monotonic()
            run_logged([sys.executable, "-m", "rasa", "train", "--config", str(config), "--domain",
                        str(domain), "--data", str(work / "data"), "--out", str(work),
                        "--fixed-model-name", model_id], logs / f"{model_id}.train.log", "training")
            trained_at = now()
            print(f"trained in {time.monotonic() - started:.0f} s; evaluating")
            candidate_archive = work / f"{model_id}.tar.gz"
            stories_key = stage_stories(stories, work / "stories")
            eval_key = f"{state['heldout']['sha256'][:16]}-{stories_key[:16]}"
            candidate = evaluate(candidate_archive, work / "stories", registry.heldout_path, domain,
                                 work / "eval-candidate", logs / f"{model_id}.eval.log")
            baseline = None
            if current is not None:
                cached = current.setdefault("evaluations", {}).get(eval_key)
                if cached:
                    baseline = gate.Metrics.from_dict(cached)
                else:
                    baseline = evaluate(registry.verified_archive(current), work / "stories",
                                        registry.heldout_path, domain, work / "eval-current",
                                        logs / f"{model_id}.eval-current.log")
                    current["evaluations"][eval_key] = baseline.to_dict()
            decision = gate.decide(candidate, baseline, args.tolerance)
            print(f"\ncandidate {model_id} against "
                  f"{'current ' + current['id'] if current else 'no current model (bootstrap)'}:")
            print(gate.comparison(candidate, baseline, decision))
            entry = {"id": model_id, "file": None, "sha256": sha256_file(candidate_archive),
                     "data_version": version, "config": str(config), "stories": [str(s) for s in stories],
                     "metrics": candidate.to_dict(), "evaluations": {eval_key: candidate.to_dict()},
                     "compared_with": current["id"] if current else None, "tolerance": args.tolerance,
                     "trained_at": trained_at, "promoted_at": None, "status": "refused",
                     "reason": "; ".join(decision.reasons) or None}
            if not decision.promote:
                registry.add(state, entry)
                registry.save(state)
                print("the current model stays; the candidate's archive is deleted")
                return REFUSED
            archive = registry.folder / f"{model_id}.tar.gz"
            shutil.move(str(candidate_archive), archive)
        entry["file"] = archive.name
        if sha256_file(archive) != entry["sha256"]:
            raise RegistryError("the archive changed while it was moved: refused")
        try:
            line = serve(fleet, archive, registry)
        except ServingError as error:
            if getattr(error, "consistent", True):
                archive.unlink(missing_ok=True)
                entry.update(file=None)
            else:  # an instance still serves it: keep the archive it was loaded from
                print(f"warning: {archive} is kept: an instance could not be put back", file=sys.stderr)
            entry.update(status="load_failed", reason=str(error))
            registry.add(state, entry)
            registry.save(state)
            print(f"promotion failed, the current model stays: {error}", file=sys.stderr)
            return FAILED
        registry.add(state, entry)
        registry.make_current(state, entry)
        registry.save(state)
        print(f"promoted {model_id}: sha256 {entry['sha256']}, data version {version[:16]}")
        print(line)
        return PROMOTED


def rollback(args) -> int:
    registry = Registry(Path(args.models))
    fleet = fleet_from(args)
    with registry.locked():
        state = registry.load()
        current = registry.current(state)
        target = registry.rollback_target(state)
        archive = registry.verified_archive(target)
        line = serve(fleet, archive, registry)
        registry.make_current(state, target, rollback=True)
        registry.save(state)
    print(f"rolled back from {current['id']} to {target['id']} (sha256 {target['sha256']})")
    print(line)
    return PROMOTED


def status(args) -> int:
    registry = Registry(Path(args.models))
    state = registry.load()
    if args.json:
        print(json.dumps(state, indent=2, sort_keys=True))
        return 0
    current = registry.current(state)
    if current is None:
        print(f"no current model in {registry.path} (run `python -m lifecycle retrain`)")
    else:
        metrics = current.get("metrics") or {}
        print(f"current:      {current['id']}\narchive:      {registry.archive(current)}\n"
              f"sha256:       {current['sha256']}\ndata version: {current['data_version']}\n"
              f"intent F1:    {metrics.get('weighted_f1', 0):.4f} weighted, "
              f"{metrics.get('macro_f1', 0):.4f} macro")
    if state["models"]:
        print(f"\n{'model':34}{'status':13}{'weighted F1':>12}{'stories':>9}  trained_at")
        for entry in state["models"]:
            m = entry.get("metrics") or {}
            print(f"{entry['id']:34}{entry['status']:13}{m.get('weighted_f1', 0):>12.4f}"
                  f"{str(m.get('stories_failed', '?')) + ' fail':>9}  {entry['trained_at']}")
    return 0


def current_path(args) -> int:
    """The verified archive of the current model, or nothing when there is no registry. A
    missing or changed archive (sha256 not the registry's) exits 2 with the reason on stderr:
    scripts/run.sh and run_scaled.sh then refuse to start."""
    registry = Registry(Path(args.models))
    entry = registry.current()
    if entry is not None:
        print(registry.verified_archive(entry).resolve())
    return 0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m lifecycle", description=__doc__)
    main.add_argument("--models", default=os.environ.get("PARLEY_MODELS") or str(ROOT / "models"),
                      help="folder of the registry, the held-out split and the archives "
                           "(default $PARLEY_MODELS, else models/)")
    commands = main.add_subparsers(dest="command", required=True)

    def with_server(command):
        command.add_argument("--rasa-url", action="append",
                             help="a running Rasa instance; repeat it for each (default $RASA_URLS, "
                                  "$RASA_URL, var/rasa_urls, else http://127.0.0.1:$RASA_PORT); all "
                                  "of them load the model or none does (lifecycle/fleet.py)")
        command.add_argument("--token", help="its --auth-token (default $RASA_TOKEN, else var/rasa_token; "
                             "prefer the variable: a command line shows in ps)")
        command.add_argument("--no-serve", action="store_true", help="only update the registry")

    train = commands.add_parser("retrain", help="train, evaluate against the current model, promote if it passes")
    train.add_argument("--config", default=os.environ.get("RASA_CONFIG", str(ROOT / "config.yml")))
    train.add_argument("--data", default=str(ROOT / "data"))
    train.add_argument("--domain", default=str(ROOT / "domain.yml"))
    train.add_argument("--stories", action="append",
                       help="test stories (repeatable; default tests/test_stories.yml and tests/test_reviewed_stories.yml)")
    train.add_argument("--tolerance", type=float, default=0.02,
                       help="largest accepted drop of weighted intent F1 (default 0.02)")
    with_server(train)
    train.set_defaults(run=retrain)
    back = commands.add_parser("rollback", help="serve the model promoted before the current one")
    with_server(back)
    back.set_defaults(run=rollback)
    show = commands.add_parser("status", help="current model, its sha256, data version, history")
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=status)
    current = commands.add_parser("current", help="print the current model's archive (nothing if none)")
    current.set_defaults(run=current_path)
    return main


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "tolerance", 0) < 0:
        print("error: --tolerance must be >= 0", file=sys.stderr)
        return FAILED
    try:
        return args.run(args)
    except (RegistryError, ServingError, RuntimeError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return FAILED
