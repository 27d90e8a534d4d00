"""``skextras tfrecord``: look into a TFRecord file of tf.Examples (wired in skextras.cli)."""

import sys


def add_arguments(parser):
    """Arguments of the ``tfrecord`` sub-command."""
    parser.add_argument("path", help="TFRecord file of serialized tf.train.Example")
    parser.add_argument("--compression", choices=["GZIP", "ZLIB"], default=None)
    parser.add_argument("--head", type=int, default=5, help="rows to print (default 5)")
    parser.add_argument("--no-verify", action="store_true", help="skip the CRC checks")
    parser.add_argument("--to-csv", default=None, help="also write every record to this CSV")
    parser.add_argument(
        "--max-record-bytes",
        type=int,
        default=None,
        help="refuse records larger than this many bytes (advised for compressed files "
        "from untrusted sources); default: bounded by the file only",
    )


def run(args):
    """Print the record count, the features' dtypes and the first rows.

    Returns 0 on success and 2 for a file that cannot be read (corrupted, truncated, a
    record beyond ``--max-record-bytes``, not tf.Examples), the error printed to stderr.
    """
    from .tfrecord import read_examples_to_frame

    try:
        frame = read_examples_to_frame(
            args.path,
            compression=args.compression,
            verify_crc=not args.no_verify,
            max_record_bytes=args.max_record_bytes,
        )
    except (ValueError, OSError) as exc:
        print(f"skextras tfrecord: error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.path}: {len(frame)} records, {frame.shape[1]} features")
    print(frame.dtypes.to_string())
    print(frame.head(args.head).to_string())
    if args.to_csv:
        frame.to_csv(args.to_csv, index=False)
    return 0
