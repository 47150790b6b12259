"""The `ecgfeat` command line: a thin Typer layer over the package."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperGroup, TyperOption

from . import __version__
from .commands import compare, data, evaluate, explain, extract, features, show, train
from .commands.common import STATE, handle_errors
from .resources import quiet_openmp
from .workspace import workspace

quiet_openmp()  # before xgboost / lightgbm / torch load their OpenMP runtime (see ecgfeat/resources.py)

_option_type = TyperOption.display_type_rich


def _flag_type(self, ctx):  # typer 0.2x writes `<bool>` beside every on/off flag: a flag takes no value
    return None if self.is_flag else _option_type(self, ctx)


TyperOption.display_type_rich = _flag_type

EXAMPLES = """Examples:

  ecgfeat data synth data/synthetic                # the embedded synthetic 12-lead dataset

  ecgfeat data info data/ptbxl --json              # what a dataset folder holds

  ecgfeat data fetch ptbxl --to data/              # download PTB-XL from PhysioNet

  ecgfeat extract data/ptbxl --jobs 2              # features into feature_store/

  ecgfeat store ls                                 # what the feature store holds

  ecgfeat train --model xgb                        # train + evaluate on the embedded dataset

  ecgfeat predict some/record.hea --model xgb-synthetic-cpsc9-paper-all

  ecgfeat compare                                  # the side-by-side report in reports/

  ecgfeat evaluate --model rf-ptbxl-cpsc9-paper-all --data data/ludb   # external validation

  ecgfeat explain --model xgb-synthetic-cpsc9-paper-all --record S00011   # TreeSHAP / DeepSHAP

  ecgfeat show data/ludb/data/1.hea                # one record on ECG paper, with its fiducials

  ecgfeat features --family expert                 # the feature dictionary: unit, definition, accuracy"""



class _Group(TyperGroup):
    """The top-level group: `--debug` works wherever it is written (`ecgfeat train ... --debug` too)."""

    def parse_args(self, ctx, args):
        cut = args.index("--") if "--" in args else len(args)
        if "--debug" in args[1:cut]:
            args = ["--debug"] + [a for i, a in enumerate(args) if not (a == "--debug" and i < cut)]
        return super().parse_args(ctx, args)


app = typer.Typer(cls=_Group,
    help="ecgfeat: physiologic and time-series features for 12-lead ECG diagnosis, with a deep comparator.",
    epilog=EXAMPLES, no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(data.app, name="data")
app.command(epilog=extract.EXTRACT_EXAMPLES)(extract.extract)
app.add_typer(extract.store_app, name="store")
app.command(epilog=train.TRAIN_EXAMPLES)(handle_errors(train.train))
app.command(epilog=train.PREDICT_EXAMPLES)(handle_errors(train.predict))
app.command(epilog=compare.COMPARE_EXAMPLES)(handle_errors(compare.compare))
app.command(epilog=evaluate.EVALUATE_EXAMPLES)(handle_errors(evaluate.evaluate))
app.command(epilog=explain.EXPLAIN_EXAMPLES)(handle_errors(explain.explain))
app.command(epilog=show.SHOW_EXAMPLES)(handle_errors(show.show))
app.command(epilog=features.FEATURES_EXAMPLES)(handle_errors(features.features))


def _version(value: bool):
    if value:
        typer.echo(f"ecgfeat {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ws: Optional[Path] = typer.Option(None, "--workspace", "-w", envvar="ECGFEAT_HOME",
                                      help="Workspace folder (feature_store/, models/, reports/, data/). Default: cwd."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
):
    STATE.workspace = workspace(ws)
    STATE.debug = debug
