"""Names per second on one core: normalize_name beside str.title and nameparser 2.6.

Inputs: the corpus inputs (tests/names/data/corpus.tsv) and a generated mix of CRM-like
names (default 50,000: Russian and Latin, first/middle/last/full, typed in proper case, all
lower, all caps, caps-lock inverted, with stray spaces, hyphens and particles).

    .venv/bin/pip install 'nameparser==2.6.*'    # optional, only for the comparison
    .venv/bin/python bench/names.py [--names 50000] [--repeats 5] [--nameparser-sample 5000]
                                    [--baseline GIT-REVISION]

--baseline times the engine of an earlier commit in the same run (its src/namecase/names is
read with git into a temporary package), so a change is measured side by side with what it
replaces. Prints a table and writes bench/results/names.json.
"""

from __future__ import annotations

import argparse
import csv
import gc
import importlib
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from namecase.names import normalize_name  # noqa: E402

CORPUS = ROOT / "tests" / "names" / "data" / "corpus.tsv"
RESULTS = ROOT / "bench" / "results" / "names.json"

Item = tuple[str, str]  # (field, value)
Normalizer = Callable[[str, str], str]


def _words(text: str) -> list[str]:
    return text.split()


# Pools for the generated mix. Common names dominate, as in a real CRM; the rare pools (about
# one name in twelve) carry the double names, particles, apostrophes and suffixes.
RU_FIRST = _words(
    "Александр Алексей Андрей Антон Артём Владимир Дмитрий Евгений Иван Игорь Кирилл Максим "
    "Михаил Никита Николай Олег Павел Пётр Роман Сергей Юрий Анастасия Анна Валентина Дарья "
    "Екатерина Елена Ирина Ксения Марина Мария Наталья Ольга Светлана Татьяна Юлия Ильдар Тимур"
)
RU_MIDDLE = _words(
    "Александрович Алексеевич Андреевич Владимирович Дмитриевич Иванович Игоревич Михайлович "
    "Николаевич Петрович Сергеевич Юрьевич Александровна Алексеевна Андреевна Владимировна "
    "Дмитриевна Ивановна Игоревна Михайловна Николаевна Петровна Сергеевна Ильинична Фомич"
)
RU_LAST = _words(
    "Иванов Смирнов Кузнецов Попов Васильев Петров Соколов Михайлов Новиков Фёдоров Морозов "
    "Волков Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев Орлов Андреев "
    "Макаров Никитин Захаров Зайцев Соловьёв Борисов Яковлев Григорьев Романов Воробьёв "
    "Иванова Смирнова Кузнецова Попова Петрова Соколова Волкова Лебедева Ёлкина Щукина"
)
RU_RARE_FIRST = ["Анна-Мария", "Жан-Жак", "Мар'яна", "В'ячеслав", "Хож-Ахмед", "Гусейн оглы"]
RU_RARE_LAST = [
    *_words(
        "Петров-Водкин Римский-Корсаков Салтыков-Щедрин Тер-Петросян Бонч-Бруевич Мак-Кинли "
        "О'Коннор Дерев'янко аль-Бируни Турсун-заде Мамед-оглы Ортега-и-Гассет"
    ),
    "фон Вестфален",
    "ван Бетховен",
    "де ла Крус",
]
EN_FIRST = _words(
    "James John Robert Michael William David Richard Joseph Thomas Charles Mary Patricia "
    "Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Émile Søren Jürgen José"
)
EN_LAST = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Müller Schmidt Dubois"
)
EN_RARE_FIRST = ["Jean-Claude", "Mary-Kate", "N'Golo", "LaToya"]
EN_RARE_LAST = [
    *_words("O'Neill McCarthy Leigh-Williams DeVito García-Márquez"),
    "van Rossum",
    "de Gaulle",
    "da Silva",
    "von Trapp",
    "Smith Jr",
]
CASE_STYLES: Sequence[tuple[float, Callable[[str], str]]] = (
    (0.50, lambda s: s),
    (0.20, str.lower),
    (0.22, str.upper),
    (0.03, str.swapcase),
    (0.05, lambda s: "  " + s.replace(" ", "\u00a0 ") + " "),
)


def corpus_items() -> list[Item]:
    """The corpus inputs with their fields."""
    with CORPUS.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        return [(row[0], row[1]) for row in reader]


def corpus_expected() -> list[str]:
    with CORPUS.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        return [row[2] for row in reader]


def generated_items(count: int, seed: int = 3) -> list[Item]:
    """A reproducible mix of CRM-like names: 70% Russian, 30% Latin, every field."""
    rng = random.Random(seed)
    weights = [weight for weight, _ in CASE_STYLES]
    styles = [style for _, style in CASE_STYLES]

    def pick(common: list[str], rare: list[str]) -> str:
        return rng.choice(rare) if rng.random() < 0.08 else rng.choice(common)

    items: list[Item] = []
    for _ in range(count):
        russian = rng.random() < 0.7
        first = pick(RU_FIRST, RU_RARE_FIRST) if russian else pick(EN_FIRST, EN_RARE_FIRST)
        last = pick(RU_LAST, RU_RARE_LAST) if russian else pick(EN_LAST, EN_RARE_LAST)
        middle = rng.choice(RU_MIDDLE) if russian else rng.choice(EN_FIRST)
        field = rng.choices(("first", "middle", "last", "any"), (30, 15, 30, 25))[0]
        value = {
            "first": first,
            "middle": middle,
            "last": last,
            "any": f"{last} {first} {middle}" if russian else f"{first} {last}",
        }[field]
        items.append((field, rng.choices(styles, weights)[0](value)))
    return items


def ours(value: str, field: str) -> str:
    return normalize_name(value, field) or ""


def title(value: str, field: str) -> str:
    return value.title()


def load_nameparser() -> tuple[Normalizer | None, str]:
    try:
        from nameparser import parse  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return None, "not installed"

    def nameparser_capitalized(value: str, field: str) -> str:
        return str(parse(value).capitalized())

    return nameparser_capitalized, metadata.version("nameparser")


def load_baseline(revision: str) -> tuple[Normalizer, str]:
    """normalize_name as of a git revision, imported as namecase_baseline.names."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True
        ).stdout

    commit = git("rev-parse", "--short", revision).strip()
    package = Path(tempfile.mkdtemp(prefix="names-baseline-")) / "namecase_baseline"
    (package / "names").mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    for path in git("ls-tree", "--name-only", commit, "src/namecase/names/").split():
        if path.endswith(".py"):
            source = git("show", f"{commit}:{path}").replace(
                "namecase.names", "namecase_baseline.names"
            )
            (package / "names" / Path(path).name).write_text(source, encoding="utf-8")
    sys.path.insert(0, str(package.parent))
    baseline = importlib.import_module("namecase_baseline.names")

    def normalize(value: str, field: str) -> str:
        return str(baseline.normalize_name(value, field) or "")

    return normalize, commit


def timed_pass(normalizer: Normalizer, items: list[Item]) -> tuple[float, float]:
    """CPU and wall seconds of one pass over items.

    CPU time (time.process_time) is what one core spent on this single-threaded loop, so it is
    the figure to compare on a shared machine; wall time is printed beside it.
    """
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    for field, value in items:
        normalizer(value, field)
    return time.process_time() - cpu, time.perf_counter() - wall


def corpus_score(normalizer: Normalizer) -> int:
    expected = corpus_expected()
    return sum(
        normalizer(value, field) == want
        for (field, value), want in zip(corpus_items(), expected, strict=True)
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=50_000, help="generated names")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds, best is kept")
    parser.add_argument("--nameparser-sample", type=int, default=5_000, help="names it gets")
    parser.add_argument("--baseline", help="also time the engine of this git revision")
    args = parser.parse_args(argv)

    corpus = corpus_items()
    mix = generated_items(args.names)
    nameparser, nameparser_version = load_nameparser()
    if nameparser is None:
        print(
            "nameparser is not installed; comparing with str.title only. "
            "Install it with: .venv/bin/pip install 'nameparser==2.6.*'"
        )

    # (label, normalizer, mix items, timed rounds, corpus copies per pass). The corpus is
    # repeated so that one pass is long enough to time; nameparser, ~100x slower, gets a
    # sample of the mix, 10 copies of the corpus and one pass.
    contenders: list[tuple[str, Normalizer, list[Item], int, int]] = [
        ("namecase normalize_name", ours, mix, args.repeats, 100),
    ]
    if args.baseline:
        baseline, commit = load_baseline(args.baseline)
        contenders.append((f"namecase at {commit}", baseline, mix, args.repeats, 100))
    contenders.append(("str.title", title, mix, args.repeats, 100))
    if nameparser is not None:
        sample = mix[: args.nameparser_sample]
        label = f"nameparser {nameparser_version} capitalized()"
        contenders.append((label, nameparser, sample, 1, 10))

    # Rounds: each contender gets one pass per round, in turn, so that a change of load on the
    # shared machine falls on all of them; the best pass of each is kept.
    best: dict[str, list[float]] = {label: [float("inf")] * 3 for label, *_ in contenders}
    for _, normalizer, items, _, _ in contenders:
        for field, value in items[:1000]:  # warm-up: caches, lazily built tables
            normalizer(value, field)
    for round_number in range(args.repeats):
        for label, normalizer, items, passes, copies in contenders:
            if round_number >= passes:
                continue
            corpus_cpu, _ = timed_pass(normalizer, corpus * copies)
            mix_cpu, mix_wall = timed_pass(normalizer, items)
            times = best[label]
            best[label] = [
                min(times[0], corpus_cpu / (len(corpus) * copies)),
                min(times[1], mix_cpu / len(items)),
                min(times[2], mix_wall / len(items)),
            ]
    rows: list[dict[str, object]] = [
        {
            "implementation": label,
            "corpus_names_per_cpu_s": round(1 / best[label][0]),
            "mix_names": len(items),
            "mix_names_per_cpu_s": round(1 / best[label][1]),
            "mix_names_per_wall_s": round(1 / best[label][2]),
            "corpus_right": corpus_score(normalizer),
        }
        for label, normalizer, items, _, _ in contenders
    ]
    ours_rate = float(str(rows[0]["mix_names_per_cpu_s"]))
    for row in rows:
        row["mix_ratio_to_namecase"] = round(float(str(row["mix_names_per_cpu_s"])) / ours_rate, 4)

    header = (
        f"{'implementation':36} {'corpus n/cpu-s':>15} {'mix n/cpu-s':>12} "
        f"{'mix n/wall-s':>13} {'× ours':>8} {'corpus':>8}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['implementation']!s:36} {row['corpus_names_per_cpu_s']:>15,} "
            f"{row['mix_names_per_cpu_s']:>12,} {row['mix_names_per_wall_s']:>13,} "
            f"{row['mix_ratio_to_namecase']:>8} {row['corpus_right']:>4}/{len(corpus)}"
        )
    report = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "corpus_rows": len(corpus),
        "mix_names": len(mix),
        "repeats": args.repeats,
        "nameparser": nameparser_version,
        "baseline": args.baseline,
        "results": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"\nsingle thread, CPU time; results written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
