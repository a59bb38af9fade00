"""Input-dependent cost of a config's model over a dataset split: MACs per image (mean, min, max)
and the fraction of routing cells skipped, for architectures whose cost depends on the input
(Dynamic Routing).

    python tools/analysis/dynamic_cost.py CONFIG [CHECKPOINT] [--split test] [--limit N]
        [--out FILE.json]

Each image of the config's ``--split`` dataloader's dataset (its test pipeline, so the sizes the
metric sees) goes through the data preprocessor and ``encode_decode`` (what ``predict`` runs,
as ``tools/analysis/benchmark.py`` times it), at batch 1, in eval mode, without gradients. The
MACs are those of every convolution that actually ran, counted by forward hooks from each
call's output shape (``out_h * out_w * C_out * C_in / groups * kh * kw``; BN, activations,
pooling and resizing not counted, so slightly below the benchmark's fvcore count). A backbone
that reports its own cost (``last_cost``, as ``DynamicRoutingBackbone``) adds its executed MACs
(checked against the hooks' count of the backbone, with the MACs it reports apart as
``constant``), its cells run and skipped, and its
all-open cost; ``dense`` is the whole model's count for the first image with nothing skipped.
Without a checkpoint the weights are the config's initialisation (untrained: gates and BN
statistics at their initial values).
"""
from __future__ import annotations

import argparse
import os.path as osp
import statistics
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402
from torch import nn  # noqa: E402

import faceparse_mm  # noqa: E402,F401
from faceparse_mm.models.modules.routing_cell import conv_macs  # noqa: E402
from faceparse_mm.utils.io import write_json_atomic  # noqa: E402
from faceparse_mm.utils.results import git_commit, recorded_command, repo_relative  # noqa: E402


class ConvMacCounter:
    """Context manager: MACs of every ``nn.Conv2d`` call under ``module`` while active
    (``total``; ``of(prefix)`` for one submodule's, e.g. ``'backbone'``)."""

    def __init__(self, module: nn.Module):
        self.module = module
        self.by_name = {}
        self._handles = []

    def __enter__(self):
        for name, m in self.module.named_modules():
            if isinstance(m, nn.Conv2d):
                self._handles.append(m.register_forward_hook(self._hook(name)))
        return self

    def _hook(self, name):
        def hook(conv, inputs, output):
            self.by_name[name] = (self.by_name.get(name, 0)
                                  + output.shape[0] * conv_macs(conv, output.shape[-2:]))
        return hook

    def __exit__(self, *exc):
        for h in self._handles:
            h.remove()
        self._handles = []

    @property
    def total(self) -> int:
        return sum(self.by_name.values())

    def of(self, prefix: str) -> int:
        return sum(v for k, v in self.by_name.items()
                   if k == prefix or k.startswith(prefix + '.'))


def image_cost(model, data) -> dict:
    """One preprocessed batch-1 ``data`` (the data preprocessor's output) -> its cost record."""
    metas = [s.metainfo for s in data['data_samples']]
    with torch.no_grad(), ConvMacCounter(model) as counter:
        model.encode_decode(data['inputs'], metas)
    record = dict(macs=counter.total, shape=list(data['inputs'].shape[-2:]))
    cost = getattr(model.backbone, 'last_cost', None)
    if cost:
        # ``constant``: what the backbone computed from its parameters alone (cells reached by
        # nothing), run on a small map or one image and reported apart from ``executed``
        constant = cost.get('constant', 0)
        if cost['executed'] + constant != counter.of('backbone'):
            raise RuntimeError(f'the backbone reports {cost["executed"]} + {constant} MACs, its '
                               f'convs ran {counter.of("backbone")}')
        record.update(backbone_macs=cost['executed'], backbone_constant=constant,
                      backbone_full=cost['full'],
                      cells=cost['cells'], cells_run=cost['cells_run'],
                      skipped=1 - cost['cells_run'] / cost['cells'])
    return record


def dense_macs(model, data) -> int:
    """The whole model's conv MACs on ``data`` with nothing skipped (``skip_closed`` off)."""
    backbone = model.backbone
    if not hasattr(backbone, 'skip_closed'):
        return image_cost(model, data)['macs']
    saved = backbone.skip_closed
    backbone.skip_closed = False
    try:
        return image_cost(model, data)['macs']
    finally:
        backbone.skip_closed = saved


def _stats(values):
    return dict(mean=statistics.fmean(values), min=min(values), max=max(values))


def summarise(records: list[dict], dense: int | None = None) -> dict:
    out = dict(images=len(records), macs=_stats([r['macs'] for r in records]))
    if records and 'skipped' in records[0]:
        out['backbone_macs'] = _stats([r['backbone_macs'] for r in records])
        out['skipped_fraction'] = _stats([r['skipped'] for r in records])
        out['cells'] = records[0]['cells']
    if dense is not None:
        out['dense_macs_first_image'] = dense
    return out


def iter_split(cfg, split: str, limit: int | None):
    """(index, sample) of the ``split`` dataloader's dataset, through its pipeline."""
    from mmengine.registry import init_default_scope

    from faceparse_mm.registry import DATASETS
    init_default_scope(cfg.get('default_scope', 'faceparse_mm'))
    dataset = DATASETS.build(cfg[f'{split}_dataloader'].dataset)
    n = len(dataset) if not limit else min(limit, len(dataset))
    for i in range(n):
        yield i, dataset[i]


def measure(model, samples, log=print) -> dict:
    """Cost records of ``samples`` (pipeline outputs: ``inputs``, ``data_samples``) and their
    summary."""
    model.eval()
    records, dense = [], None
    for i, sample in samples:
        data = model.data_preprocessor(dict(inputs=[sample['inputs']],
                                            data_samples=[sample['data_samples']]), False)
        if dense is None:
            dense = dense_macs(model, data)
        record = image_cost(model, data)
        record['index'] = i
        records.append(record)
        if log:
            extra = (f", {record['cells_run']}/{record['cells']} cells run"
                     if 'cells' in record else '')
            log(f'{i}: {record["macs"] / 1e9:.3f} GMACs{extra}')
    return dict(summary=summarise(records, dense), images=records)


def build(config: str, checkpoint: str | None):
    from mmengine.config import Config

    from faceparse_mm.compat import load_checkpoint
    from faceparse_mm.utils.build import build_segmentor
    cfg = Config.fromfile(config)
    model = build_segmentor(cfg, offline=True)
    if checkpoint:
        state = load_checkpoint(checkpoint)
        model.load_state_dict(state.get('state_dict', state))
    return cfg, model.eval()


def print_summary(summary: dict) -> None:
    m = summary['macs']
    print(f"images {summary['images']}: GMACs mean {m['mean'] / 1e9:.3f}, "
          f"min {m['min'] / 1e9:.3f}, max {m['max'] / 1e9:.3f}")
    if 'skipped_fraction' in summary:
        s = summary['skipped_fraction']
        print(f"cells skipped (of {summary['cells']}): mean {s['mean']:.3f}, "
              f"min {s['min']:.3f}, max {s['max']:.3f}")
    if 'dense_macs_first_image' in summary:
        print(f"nothing skipped (first image): {summary['dense_macs_first_image'] / 1e9:.3f} "
              f"GMACs")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?')
    parser.add_argument('--split', default='test', choices=['train', 'val', 'test'])
    parser.add_argument('--limit', type=int, default=None, help='first N images only')
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--out', help='write the summary and per-image records as JSON')
    args = parser.parse_args(argv)
    for path in (args.config, args.checkpoint):
        if path and not osp.isfile(path):
            parser.error(f'file not found: {path}')
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg, model = build(args.config, args.checkpoint)
    report = measure(model, iter_split(cfg, args.split, args.limit))
    report.update(config=repo_relative(osp.abspath(args.config)),
                  checkpoint=args.checkpoint and repo_relative(osp.abspath(args.checkpoint)),
                  split=args.split,
                  counted='conv MACs of the convolutions run (hooks), batch 1, encode_decode',
                  commit=git_commit(), date=time.strftime('%Y-%m-%dT%H:%M:%S'),
                  command=recorded_command('tools/analysis/dynamic_cost.py',
                                           sys.argv[1:] if argv is None else argv))
    print_summary(report['summary'])
    if args.out:
        write_json_atomic(args.out, report)
        print(f'written to {args.out}')
    return report


if __name__ == '__main__':
    main()
