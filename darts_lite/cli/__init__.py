"""Command line: `python -m darts_lite {search,train,evaluate,plot,demo,dag-search,run,bench,score,null}`.

A thin shell over the functions the notebooks call: every option is a field
of `SearchConfig`, `TrainConfig` or `DAGSearchConfig` (same name, dashes for underscores), and
`--config FILE.json` sets many at once (command-line options win).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ..core.config import ConfigError
from ..core.runs import load_data
from ..core.tables import key_value_table
from ..core.training import TrainConfig
from ..dag_blocks.config import DAGSearchConfig
from ..darts.config import SCHEDULES, SearchConfig
from ..readers import read_json
from . import ground_truth
from .options import DEMO_SCHEDULE, DEMO_SEARCH, DEMO_TRAIN, add_config_args, as_options, config_from



def build_parser() -> argparse.ArgumentParser:
    """The argument parser (built on call, never at import)."""
    parser = argparse.ArgumentParser(
        prog="python -m darts_lite",
        description="Differentiable architecture search (DARTS) for teaching: search a cell, derive "
                    "its genotype, retrain and evaluate it. Runs are written to runs/<name>/.",
        epilog="Example: python -m darts_lite search --dataset digits --epochs 5 --name first")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("search", help="run a DARTS search and write genotype.json, alphas.pt, figures")
    add_config_args(p, SearchConfig, "search configuration")
    p.add_argument("--schedule", choices=sorted(SCHEDULES),
                   help="architecture schedule: 'beta_darts' (the best measured on the ground truth), 'decisive' "
                        "(decides within a CPU budget, collapses onto skips) or 'paper' (Liu et al.); "
                        "options given explicitly win over it")
    p.add_argument("--config", help="JSON file with SearchConfig fields (or a 'search' section)")
    p.add_argument("--out", help="run directory (default: runs/<name>)")
    p.add_argument("--resume", action="store_true", help="continue from the run's checkpoint")

    p = sub.add_parser("train", help="retrain the network of a genotype from scratch and evaluate it")
    p.add_argument("--genotype", required=True, help="genotype.json written by a search")
    p.add_argument("--dataset", default=None, help="dataset (default: the one of the search run)")
    p.add_argument("--image-size", type=int, default=None)
    p.add_argument("--data-root", default=None)
    add_config_args(p, TrainConfig, "training configuration")
    p.add_argument("--config", help="JSON file with TrainConfig fields (or a 'train' section)")
    p.add_argument("--out", help="run directory (default: the genotype's directory)")
    p.add_argument("--resume", action="store_true", help="continue from the run's checkpoint")

    p = sub.add_parser("evaluate", help="test accuracy of a retrained run")
    p.add_argument("run", help="run directory with train_checkpoint.pt and genotype.json")

    p = sub.add_parser("plot", help="(re)draw the figures of a run into <run>/figures/")
    p.add_argument("run", help="run directory")

    p = sub.add_parser("demo", help="search, derive, retrain and evaluate on digits (a few minutes on a CPU)")
    p.add_argument("--name", default="demo")
    p.add_argument("--fast", action="store_true", help="a tiny setting that finishes in about a minute")
    p.add_argument("--device", default="auto")

    p = sub.add_parser("dag-search", help="search DAG-wired dense blocks (notebook 04); retrain the best "
                                          "block and the plain dense network of the same size")
    add_config_args(p, DAGSearchConfig, "DAG search configuration")
    p.add_argument("--config", help="JSON file with DAGSearchConfig fields (or a 'dag_search' section)")
    p.add_argument("--out", help="run directory (default: runs/<name>)")
    p.add_argument("--resume", action="store_true", help="continue from the run's checkpoint")
    p.add_argument("--train-epochs", type=int, default=10, help="standalone training epochs (default: 10; 0 skips)")

    p = sub.add_parser("run", help="the whole application from one config file: search, retrain, baselines, "
                                   "result table (run it again to continue after an interruption)")
    p.add_argument("config", help='JSON file with "experiment", "search" and "train" sections')
    p.add_argument("--out", help="run directory (default: runs/<experiment name>)")
    ground_truth.add_parsers(sub)
    return parser


_DATA_FIELDS = ("dataset", "image_size", "data_root", "seed")


def _data_config(run_dir: Path, **overrides) -> SearchConfig:
    """A config naming the data of the search in `run_dir` (same split seed), with overrides."""
    path = run_dir / "search_config.json"
    saved = read_json(path, "search config", ConfigError) if path.exists() else {}
    settings = {k: v for k, v in saved.items() if k in _DATA_FIELDS}
    settings.update({k: v for k, v in overrides.items() if v is not None})
    return SearchConfig(**settings)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command != "search" and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        # Each process would run the whole command and write the same files.
        print(f"error: only `search` runs data-parallel under torchrun; run `{args.command}` "
              "with plain `python -m darts_lite`", file=sys.stderr)
        return 2
    try:
        return _COMMANDS[args.command](args)
    except (ConfigError, FileNotFoundError, ValueError) as e:
        print(f"error: {as_options(str(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        print(f"\n{e or 'interrupted'}", file=sys.stderr)
        return 130


def _search(args) -> int:
    from ..core import distributed
    from ..darts import pipeline
    from ..darts.search import search
    config = config_from(SearchConfig, args)
    run_dir = Path(args.out) if args.out else Path("runs") / config.name
    result = search(config, load_data(config), run_dir=run_dir, resume=args.resume)
    # Under torchrun every process holds the same result: rank 0 alone writes it.
    main = distributed.is_main()
    distributed.shutdown()
    if not main:
        return 0
    pipeline.save_search(result)
    pipeline.plot_run(run_dir)
    print(f"genotype written to {run_dir / 'genotype.json'}\n{result.genotype}")
    return 0


def _train(args) -> int:
    from ..darts import pipeline
    from ..darts.genotypes import Genotype
    genotype_path = Path(args.genotype)
    genotype = Genotype.load(genotype_path)
    run_dir = Path(args.out) if args.out else genotype_path.parent
    data = load_data(_data_config(genotype_path.parent, dataset=args.dataset,
                                           image_size=args.image_size, data_root=args.data_root))
    result = pipeline.retrain(genotype, config_from(TrainConfig, args), data, run_dir, resume=args.resume)
    print(json.dumps({"test": result.test, "run_dir": str(run_dir)}))
    return 0


def _evaluate(args) -> int:
    from ..core.checkpoint import load_checkpoint
    from ..core.training import evaluate
    from ..darts.genotypes import Genotype
    from ..darts.retrain import build_network
    run_dir = Path(args.run)
    saved = load_checkpoint(run_dir / "train_checkpoint.pt")
    config = TrainConfig.from_dict(saved["config"])
    data = load_data(_data_config(run_dir))
    model = build_network(Genotype.load(run_dir / "genotype.json"), config, data)
    model.load_state_dict(saved["model"])
    print(json.dumps({"run_dir": str(run_dir), "test": evaluate(model, data.test)}))
    return 0


def _plot(args) -> int:
    from ..darts import pipeline
    for path in pipeline.plot_run(args.run):
        print(path)
    return 0


def _demo(args) -> int:
    from ..darts import pipeline
    search_cfg, train_cfg = dict(DEMO_SEARCH, name=args.name), dict(DEMO_TRAIN)
    if args.fast:  # one epoch per phase: every step of the pipeline, once
        search_cfg.update(layers=3, epochs=1, image_size=8)
        train_cfg.update(layers=3, channels=8, epochs=1)
    summary = pipeline.run(SearchConfig(**search_cfg, device=args.device).with_schedule(DEMO_SCHEDULE),
                           TrainConfig(**train_cfg, device=args.device))
    print("\nDARTS demo: digits, search -> derive -> retrain -> test\n")
    print(key_value_table(summary))
    run_dir = Path("runs") / args.name
    figures = sorted(p.name for p in (run_dir / "figures").glob("*.png"))
    print(f"\nresults: {run_dir / 'metrics.json'} (histories, test metrics, decision, this summary), "
          f"{run_dir / 'genotype.json'}, {run_dir / 'alphas.pt'}")
    print(f"figures: {run_dir / 'figures'}/ ({len(figures)} PNG files: {', '.join(figures)})")
    return 0


def _dag_search(args) -> int:
    from ..core.figures import savefig
    from ..dag_blocks.dag import DAG
    from ..dag_blocks.search import search_dags, train_dag
    from ..dag_blocks.viz import draw_dag
    config = config_from(DAGSearchConfig, args)
    run_dir = Path(args.out) if args.out else Path("runs") / config.name
    data = load_data(config)
    result = search_dags(config, data, run_dir=run_dir, resume=args.resume)
    summary = {"best": {"n": result.best.n, "edges": [list(e) for e in result.best.edges], **result.best.stats()},
               "alphas": result.alphas, "decision": result.decision,
               "history": [{k: v for k, v in row.items() if k != "dags"}
                                                    for row in result.history]}
    if args.train_epochs > 0:
        kw = dict(width=config.width, epochs=args.train_epochs, seed=config.seed, aggregation=config.aggregation,
                  device=config.device)
        for name, dag in (("best_block", result.best), ("plain_dense", DAG.chain(config.layers))):
            out = train_dag(dag, data, **kw)
            summary[name] = {"test_acc": out["test_acc"], "params": out["params"]}
    (run_dir / "dag_result.json").write_text(json.dumps(summary, indent=2) + "\n")
    savefig(draw_dag(result.best, title="best block"), "best_block", directory=run_dir / "figures")
    print(f"best block: {result.best}")
    print(json.dumps({k: summary[k] for k in ("best_block", "plain_dense") if k in summary}))
    print(f"written to {run_dir / 'dag_result.json'}")
    return 0


def _run(args) -> int:
    from ..hands import load_config, run_experiment
    run = load_config(args.config)
    out = run_experiment(*run, run_dir=args.out)
    run_dir = Path(args.out) if args.out else Path("runs") / run.experiment.name
    print((run_dir / "results.md").read_text())
    print(f"rows: {run_dir / 'rows.jsonl'} ({len(out['rows'])}); table: {run_dir / 'results.csv'}")
    return 0


_COMMANDS = {**ground_truth.COMMANDS, "search": _search, "train": _train, "evaluate": _evaluate, "plot": _plot,
             "demo": _demo,
             "dag-search": _dag_search, "run": _run}
