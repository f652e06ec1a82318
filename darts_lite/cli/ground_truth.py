"""`python -m darts_lite {bench,score,null}`: the ground-truth table, every search scored on it, and nulls."""
from __future__ import annotations

from pathlib import Path

from ..darts.config import SCHEDULES, SearchConfig
from ..ground_truth.build import BenchConfig
from .options import DEMO_SCHEDULE, DEMO_SEARCH, add_config_args, config_from, int_list

TABLE = Path("data") / "ground_truth" / "digits16_2nodes.csv"
NULLS = Path("data") / "decision_null" / "nulls.csv"


def add_parsers(sub) -> None:
    """The three subcommands, on the main parser's subparsers."""
    p = sub.add_parser("bench", help="build the ground-truth table: every cell of a small DARTS space trained "
                                     "standalone on 2+ seeds (resumable: run it again after an interruption)")
    add_config_args(p, BenchConfig, "ground-truth configuration")
    p.add_argument("--config", help="JSON file with BenchConfig fields (or a 'bench' section)")
    p.add_argument("--out", default=str(TABLE), help=f"CSV to write, provenance beside it (default: {TABLE})")

    p = sub.add_parser("score", help="score every search method on a ground-truth table, over seeds at one "
                                     "budget, each supernet search also on shuffled labels (its null)")
    p.add_argument("--table", default=str(TABLE), help=f"ground-truth CSV (default: {TABLE})")
    p.add_argument("--methods", default=None, help="comma-separated method names (default: all registered)")
    p.add_argument("--seeds", type=int_list, default=(0, 1, 2), help="comma-separated seeds (default: 0,1,2; "
                                                                    "GPU: 0,1,2,3,4)")
    p.add_argument("--budget", type=float, default=30.0, help="seconds per search (default: 30)")
    p.add_argument("--no-null", action="store_true", help="skip the shuffled-label runs")
    p.add_argument("--out", default=None, help="study JSON (default: beside the table, <stem>.study.json); a study "
                                               "of the same budget and seeds there is continued")
    p.add_argument("--nulls", default=str(NULLS), help=f"null table the null runs are added to (default: {NULLS})")
    p.add_argument("--fresh", action="store_true", help="retrain every pick, and the median cells, on fresh seeds "
                                                        "(7, 8, 9) with the table's recipe: <stem>.fresh.json")

    p = sub.add_parser("null", help="measure the null of `decided` for one search configuration: its kept "
                                    "weight on shuffled labels over seeds, added to the null table")
    add_config_args(p, SearchConfig, "search configuration")
    p.add_argument("--schedule", choices=sorted(SCHEDULES), help="architecture schedule (options given win)")
    p.add_argument("--config", help="JSON file with SearchConfig fields (or a 'search' section)")
    p.add_argument("--demo", action="store_true",
                   help="the configuration of `make demo` (its search, as the demo runs it)")
    p.add_argument("--seeds", type=int_list, default=(0, 1, 2),
                   help="comma-separated seeds of the null (default: 0,1,2)")
    p.add_argument("--nulls", default=str(NULLS), help=f"null table to add the rows to (default: {NULLS})")


def bench(args) -> int:
    from ..ground_truth.build import build_table
    from ..ground_truth.table import GroundTruth
    out = build_table(config_from(BenchConfig, args), args.out)
    table = GroundTruth.load(out)
    print(f"{out}: {len(table)} cells x {len(table.seeds)} seeds; noise ceiling {table.noise_ceiling()}")
    print(f"spread: {table.spread()}")
    return 0


def score(args) -> int:
    from ..core.tables import text_table
    from ..darts.null import append_nulls
    from ..ground_truth.study import null_rows, run_study, save_study, study_table
    from ..ground_truth.table import GroundTruth
    table = GroundTruth.load(args.table)
    names = [n.strip() for n in args.methods.split(",")] if args.methods else None
    out = Path(args.out or Path(args.table).with_suffix(".study.json"))
    record = run_study(table, names, args.seeds, args.budget, null=not args.no_null, path=out)
    save_study(record, out)
    nulls = null_rows(record)
    if nulls:
        append_nulls(nulls, args.nulls)
    fresh = None
    if args.fresh:  # the picks judged on training seeds the table never used (ground_truth.fresh)
        from ..ground_truth.fresh import load_fresh, retrain_study, save_fresh
        fresh_path = Path(args.table).with_suffix(".fresh.json")
        fresh = retrain_study(table, [record], fresh=load_fresh(fresh_path) if fresh_path.is_file() else None)
        save_fresh(fresh, fresh_path)
    rows = study_table(table, record, fresh)
    columns = [(c, c) for c in rows[0] if c != "score"]
    print(text_table(rows, columns))
    print(f"noise ceiling: {table.noise_ceiling()}\nwritten: {out}")
    return 0


def null(args) -> int:
    from ..core.runs import load_data
    from ..darts.null import append_nulls
    from ..ground_truth.nulls import measure_null
    config = config_from(SearchConfig, args, DEMO_SEARCH if args.demo else None)
    if args.demo:
        config = config.with_schedule(DEMO_SCHEDULE)
    rows = measure_null(config, load_data(config), args.seeds)
    path = append_nulls(rows, args.nulls)
    for r in rows:
        print(f"seed {r['seed']}: kept weight normal {r['kept_weight_normal']}, reduce {r['kept_weight_reduce']} "
              f"(train acc {r['train_acc']}, val acc {r['val_acc']} on shuffled labels)")
    print(f"added to {path}")
    return 0


COMMANDS = {"bench": bench, "score": score, "null": null}
