"""``skextras tfrecord``: look into a TFRecord file of tf.Examples (wired in skextras.cli)."""

import argparse
import sys


def _count(text):
    """argparse type: an int >= 0, with argparse's one-line error otherwise."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def add_arguments(parser):
    """Arguments of the ``tfrecord`` sub-command."""
    parser.add_argument("path", help="TFRecord file of serialized tf.train.Example")
    parser.add_argument(
        "--compression",
        choices=["auto", "none", "GZIP", "ZLIB"],
        default="auto",
        help="auto (default): detect GZIP / ZLIB from the file's first bytes",
    )
    parser.add_argument("--head", type=_count, default=5, help="rows to print (default 5)")
    parser.add_argument("--no-verify", action="store_true", help="skip the CRC checks")
    parser.add_argument("--to-csv", default=None, help="also write every record to this CSV")
    parser.add_argument(
        "--max-record-bytes",
        type=_count,
        default=None,
        help="refuse records larger than this many bytes (advised for compressed files "
        "from untrusted sources); default: bounded by the file only",
    )


def run(args):
    """Print the record count, the features' dtypes and the first rows.

    Returns 0 on success and 2 for a file that cannot be read (missing, corrupted,
    truncated, compressed other than ``--compression`` says, a record beyond
    ``--max-record-bytes``, not tf.Examples) or a CSV that cannot be written: one line
    ``skextras tfrecord: error: ...`` on stderr, no traceback.
    """
    from .tfrecord import read_examples_to_frame

    compression = None if args.compression == "none" else args.compression
    try:
        frame = read_examples_to_frame(
            args.path,
            compression=compression,
            verify_crc=not args.no_verify,
            max_record_bytes=args.max_record_bytes,
        )
        print(f"{args.path}: {len(frame)} records, {frame.shape[1]} features")
        print(frame.dtypes.to_string())
        print(frame.head(args.head).to_string())
        if args.to_csv:
            frame.to_csv(args.to_csv, index=False)
    except (ValueError, TypeError, OSError, EOFError, MemoryError) as exc:
        print(f"skextras tfrecord: error: {exc}", file=sys.stderr)
        return 2
    return 0
