"""Update-time migrations: stop an update that would delete files the owner edited, carry edits across renames.

Copier runs this script from `_migrations` in copier.yml, in the project, once per stage of `copier update`:

    update.py STAGE guard DATA SRC REF   every update. Before: renders the project's current template version with
                                         its current answers, and the new version with the new answers (DATA, the
                                         raw --data values, as JSON), and stops the update, changing nothing, when
                                         a file the update would delete differs from what the template generated.
                                         After: removes this script's scratch state.
    update.py STAGE move OLD NEW         one template version that renamed OLD to NEW (`*` stands for one path
                                         segment, e.g. a service name). Before: keeps the owner's OLD and the
                                         template's OLD. After: merges the owner's edits into NEW like Copier merges
                                         any file (conflict markers where both sides changed the same lines).

Move entries come before the guard entry in `_migrations`, so that the guard knows which edits are carried along.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from post_gen import format_python

ANSWERS_FILE = ".copier-answers.yml"
CONFIRM = "confirm_removal"
# Files written by the post-generation task from other files (uv.lock from pyproject.toml, .env from .env.example):
# the template does not render them, so they are not compared.
GENERATED = frozenset({"uv.lock", ".env"})
TRUE_WORDS = frozenset({"true", "yes", "y", "on", "1"})


def git(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=check)


def state_root() -> Path:
    return Path(git("rev-parse", "--git-path", "microservices-architect-update").stdout.strip()).resolve()


def state_dir() -> Path:
    """Scratch space shared by the stages of one update, inside .git so that it is never committed.

    Keyed by the versions updated from and to (Copier's VERSION_FROM and VERSION_TO): what an interrupted update
    left behind is dropped by the next one.
    """
    versions = f"{os.environ.get('VERSION_FROM', '')}..{os.environ.get('VERSION_TO', '')}"
    state = state_root() / hashlib.sha256(versions.encode()).hexdigest()[:16]
    if not state.is_dir():
        shutil.rmtree(state_root(), ignore_errors=True)
        state.mkdir(parents=True)
    return state


def read_answers(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ANSWERS_FILE).read_text()) or {}


def questions_of(answers: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answers.items() if not key.startswith("_")}


def render(src: str, ref: str, answers: dict[str, Any], dst: Path) -> Path:
    """Render a template version without its tasks, formatted as the post-generation task formats a project."""
    from copier import run_copy

    run_copy(
        src, dst, data=answers, vcs_ref=ref, defaults=True, overwrite=True, unsafe=True, quiet=True, skip_tasks=True
    )
    format_python(dst)
    return dst


def current_render(project: Path) -> Path:
    """The project's current template version rendered with its current answers, cached for this update."""
    answers_text = (project / ANSWERS_FILE).read_bytes()
    target = state_dir() / f"current-{hashlib.sha256(answers_text).hexdigest()[:16]}"
    if not target.is_dir():
        answers = read_answers(project)
        partial = target.with_suffix(".partial")
        shutil.rmtree(partial, ignore_errors=True)
        render(answers["_src_path"], answers["_commit"], questions_of(answers), partial)
        partial.rename(target)
    return target


def template_files(root: Path) -> set[str]:
    return {
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and path.name not in GENERATED and path.relative_to(root).as_posix() != ANSWERS_FILE
    }


def edited(project: Path, rendered: Path, relpath: str) -> bool:
    """Whether the project's file exists and differs from what the template generated."""
    mine = project / relpath
    return mine.is_file() and mine.read_bytes() != (rendered / relpath).read_bytes()


def confirmed(data: dict[str, Any]) -> bool:
    value = data.get(CONFIRM, False)
    return value is True or str(value).strip().lower() in TRUE_WORDS


def moved_sources() -> set[str]:
    moves = state_dir() / "moves.json"
    return {move["old"] for move in json.loads(moves.read_text())} if moves.exists() else set()


def guard(project: Path, data: dict[str, Any], src: str, ref: str) -> int:
    """Stop the update when it would delete files the owner edited; list every file it deletes."""
    current = current_render(project)
    new_answers = {**questions_of(read_answers(project)), **{k: v for k, v in data.items() if k != CONFIRM}}
    with tempfile.TemporaryDirectory(prefix="update-guard.") as scratch:
        new = render(src, ref, new_answers, Path(scratch) / "new")
        deleted = sorted(template_files(current) - template_files(new))
    deleted = [path for path in deleted if (project / path).is_file()]
    at_risk = [path for path in deleted if edited(project, current, path) and path not in moved_sources()]
    if deleted:
        print(f"The update deletes {len(deleted)} files the template no longer generates, in:", file=sys.stderr)
        folders = {Path(path).parent for path in deleted}
        for folder in sorted(folder for folder in folders if not set(folder.parents) & folders):
            print(f"  {folder.as_posix()}/", file=sys.stderr)
    if not at_risk:
        return 0
    listing = "\n".join(f"  {path}" for path in at_risk)
    if confirmed(data):
        print(f"warning: deleting these files you edited ({CONFIRM}=true):\n{listing}", file=sys.stderr)
        return 0
    print(
        f"\nUpdate stopped: it would delete files you edited ({len(at_risk)}):\n{listing}\n\n"
        "Nothing was changed. To keep your edits, move them to files of your own (git mv), commit, and run the\n"
        f"same update again. To delete them anyway, add `--data {CONFIRM}=true` to the same command.",
        file=sys.stderr,
    )
    return 1


def _pairs(pattern: str, target: str, files: set[str]) -> list[tuple[str, str]]:
    """(old, new) paths: each `*` in pattern matches one path segment, and the match fills the same `*` in target."""
    regex = re.compile("^" + "([^/]+)".join(map(re.escape, pattern.split("*"))) + "$")
    pairs = []
    for path in sorted(files):
        if match := regex.match(path):
            pieces = target.split("*")
            filled = "".join(piece + segment for piece, segment in zip(pieces, [*match.groups(), ""], strict=False))
            pairs.append((path, filled))
    return pairs


def prepare_move(project: Path, pattern: str, target: str) -> None:
    """Keep the template's and the owner's copy of each edited file that the new version renames."""
    current = current_render(project)
    state = state_dir()
    moves_file = state / "moves.json"
    moves = json.loads(moves_file.read_text()) if moves_file.exists() else []
    for old, new in _pairs(pattern, target, template_files(current)):
        if not edited(project, current, old) or any(move["old"] == old for move in moves):
            continue
        kept = state / "moved" / str(len(moves))
        kept.mkdir(parents=True)
        shutil.copyfile(current / old, kept / "base")
        shutil.copyfile(project / old, kept / "ours")
        moves.append({"old": old, "new": new, "kept": str(kept)})
    moves_file.write_text(json.dumps(moves, indent=2))


def finish_moves(project: Path) -> int:
    """Merge the owner's edits of each renamed file into its new path; conflicts are left inline, as Copier does."""
    moves_file = state_dir() / "moves.json"
    moves = json.loads(moves_file.read_text()) if moves_file.exists() else []
    for move in moves:
        kept, new = Path(move["kept"]), project / move["new"]
        new.parent.mkdir(parents=True, exist_ok=True)
        if new.is_file():
            labels = ["-L", "before updating", "-L", "last update", "-L", "after updating"]
            merged = git("merge-file", "-p", *labels, str(kept / "ours"), str(kept / "base"), str(new), check=False)
            if merged.returncode < 0 or merged.returncode > 127:
                raise SystemExit(f"git merge-file failed on {move['new']}: {merged.stderr}")
            new.write_text(merged.stdout)
            verb = "conflicts left in" if merged.returncode else "your edits merged into"
        else:
            shutil.copyfile(kept / "ours", new)
            verb = "your edits moved to"
        print(f"{move['old']} was renamed: {verb} {move['new']}", file=sys.stderr)
    moves_file.unlink(missing_ok=True)
    return 0


def report_conflicts() -> None:
    """Name the files an update left with conflict markers (Copier itself says nothing and exits 0)."""
    unmerged = {line.split("\t", 1)[1] for line in git("ls-files", "--unmerged").stdout.splitlines()}
    marked = git("grep", "--untracked", "-lE", "^(<<<<<<<|>>>>>>>) (before|after) updating", check=False).stdout.split()
    if conflicted := sorted(unmerged | set(marked)):
        listing = "\n".join(f"  {path}" for path in conflicted)
        print(
            f"\nwarning: the update met changes of yours on the same lines; resolve the markers in:\n{listing}\n"
            "`make check` fails until they are gone.",
            file=sys.stderr,
        )


def main(argv: list[str]) -> int:
    project = Path.cwd()
    stage, action, *args = argv
    if action == "guard":
        if stage == "before":
            data, src, ref = args
            return guard(project, json.loads(data or "{}"), src, ref)
        shutil.rmtree(state_root(), ignore_errors=True)
        report_conflicts()
        return 0
    if action == "move":
        if stage == "before":
            prepare_move(project, *args)
            return 0
        return finish_moves(project)
    raise SystemExit(f"update.py: unknown action {action!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
