"""whosthat ensemble MODEL...: models of one group combined into one that averages their probabilities."""

from __future__ import annotations

import argparse
from pathlib import Path

from whosthat.cli.options import add_cache_options, embedding_cache, progress_bar


def add_parser(commands: argparse._SubParsersAction) -> None:
    """`whosthat ensemble`: its options (nothing heavy is imported to build them)."""
    p = commands.add_parser(
        "ensemble", help="combine models of the same group into one that averages their probabilities",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  whosthat ensemble frozen.wt finetuned.wt --out both.wt\n"
               "  whosthat ensemble a.wt b.wt --out both.wt --test-dir photos/test\n\n"
               "  whosthat ensemble frozen.wt finetuned.wt tutorial.wt --best --out best.wt\n\n"
               "The models must know the same people and find them the same way (one --subject). The ensemble\n"
               "is scored on the test photos the models held out (or --test-dir) and the figures kept in it.")
    p.add_argument("models", type=Path, nargs="+", help="model files written by `whosthat train`")
    p.add_argument("--out", "-o", type=Path, required=True, help="model file to write")
    p.add_argument("--best", action="store_true",
                   help="keep the combination of two or more of the models that names their shared validation "
                        "photos best (models trained on one split of one folder; the test photos are not used)")
    p.add_argument("--test-dir", type=Path, help="labelled photos to score it on (default: the models' test split)")
    add_cache_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from whosthat.core.errors import WhosthatError
    from whosthat.models.ensemble import Ensemble
    from whosthat.models.loading import load
    from whosthat.models.model import Model
    from whosthat.training.ensembles import evaluate_shared_test, rank_combinations
    from whosthat.training.evaluate import evaluate_folder

    paths = list(args.models)
    members = []
    for path in paths:
        member = load(path)
        if not isinstance(member, Model):
            raise WhosthatError(f"{path}: an ensemble already; combine the single models it was made of")
        members.append(member)
    if len(members) < 2:
        raise WhosthatError("an ensemble needs at least two models")
    if args.best:
        ranked = rank_combinations(members, min_members=1)
        print(f"validation accuracy ({ranked[0].photos} photos, each head scored before it learned from them):")
        for combination in ranked:
            print(f"  {combination.accuracy:6.1%}  {' + '.join(str(paths[k]) for k in combination.members)}")
        best = next((c for c in ranked if len(c.members) > 1), None)
        if best is None:
            raise WhosthatError("no two of these models find their subjects the same way (one --subject): "
                                "there is no ensemble to choose")
        paths, members = [paths[k] for k in best.members], [members[k] for k in best.members]
        print(f"keeping {' + '.join(map(str, paths))}\n")
    ensemble = Ensemble(members)
    cache = embedding_cache(args)
    if args.test_dir:
        evaluation = evaluate_folder(ensemble, args.test_dir, cache=cache, progress=progress_bar)
        ensemble.test = evaluation.record(args.test_dir)
    else:
        ensemble.test = evaluate_shared_test(ensemble, cache=cache)
    for path, member in zip(paths, members):
        accuracy = f"{member.test.metrics.accuracy:.1%}" if member.test is not None else "not scored"
        print(f"{path}: {member.embedder.name} + {member.recogniser.head}, test accuracy {accuracy}")
    if ensemble.test is not None:
        print(f"\nensemble on {'the test folder' if args.test_dir else 'the test photos the models held out'}:")
        print(ensemble.test.metrics.format_text())
    else:
        print("\nthe models held out different test photos (or they are gone): use --test-dir to score the ensemble")
    ensemble.save(args.out)
    print(f"\nensemble of {len(members)} models written to {args.out}")
    return 0
