"""The ``skextras`` command: ``demo``, ``map`` (detection mAP), ``tfrecord`` (inspect a file)."""

import argparse
import sys


def _demo(args):
    from skextras._demo import run_demo

    return run_demo(quick=args.quick)


def _map(args):
    from skextras.metrics._cli import run

    return run(args)


def _tfrecord(args):
    from skextras.io._cli import run

    return run(args)


def build_parser():
    parser = argparse.ArgumentParser(prog="skextras", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="fit the estimators on bundled real data")
    demo.add_argument("--quick", action="store_true", help="smaller grid, fewer trees")
    demo.set_defaults(func=_demo)

    map_parser = commands.add_parser("map", help="evaluate detections: COCO / VOC mAP")
    from skextras.metrics._cli import add_arguments

    add_arguments(map_parser)
    map_parser.set_defaults(func=_map)

    tfrecord = commands.add_parser("tfrecord", help="print a TFRecord file of tf.Examples")
    from skextras.io._cli import add_arguments as add_tfrecord_arguments

    add_tfrecord_arguments(tfrecord)
    tfrecord.set_defaults(func=_tfrecord)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
