"""Write a zoo config for another dataset: the config with its dataset base swapped and every
head set to that dataset's classes (``faceparse_mm/utils/derive_config.py`` says how).

    python tools/derive_config.py CONFIG [CONFIG ...] --dataset lapa [--out-dir work_dirs/derived]

``configs/NAME_celebamask.py`` becomes ``OUT_DIR/NAME_lapa.py`` (on
``configs/_base_/datasets/lapa.py``), ``configs/demo/NAME_demo.py`` becomes
``OUT_DIR/NAME_lapa_demo.py`` (on ``lapa_demo.py``). Train and test the result like any config:

    python tools/train.py work_dirs/derived/bisenetv1_lapa.py

``tools/run_zoo.py --dataset lapa`` does this for every config it runs.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import faceparse_mm  # noqa: E402,F401  (applies compat before mmseg is imported)
from faceparse_mm.utils.cli import cli_errors  # noqa: E402
from faceparse_mm.utils.derive_config import write_derived_config  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('configs', nargs='+', help='configs/NAME_celebamask.py or a demo config')
    parser.add_argument('--dataset', required=True,
                        help='a dataset base in configs/_base_/datasets/ (e.g. lapa)')
    parser.add_argument('--out-dir', default=osp.join('work_dirs', 'derived'))
    args = parser.parse_args(argv)
    with cli_errors():
        for config in args.configs:
            print(write_derived_config(config, args.dataset, args.out_dir))


if __name__ == '__main__':
    main()
