"""Training hooks.

:class:`AtomicCheckpointHook` makes periodic checkpoints safe against a kill (see its docstring).

:class:`NonFiniteLossHook` stops training at the first iteration whose loss (or any loss term) is
NaN or infinite, naming the iteration, the term and the last checkpoint saved before it. It runs
before the checkpoint hook, so a checkpoint with broken weights is never written. mmengine's
``CheckInvalidLossHook`` only checks every ``interval`` iterations, with an assertion.
"""
from __future__ import annotations

import math
import os
import os.path as osp
import random

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook, Hook

from faceparse_mm.registry import HOOKS
from faceparse_mm.utils.io import write_text_atomic


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    priority = 'ABOVE_NORMAL'  # before CheckpointHook (VERY_LOW) and LoggerHook (BELOW_NORMAL)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not outputs:
            return
        bad = {}
        for name, value in outputs.items():
            if not name.startswith('loss') and name != 'loss':
                continue
            v = float(value.detach()) if hasattr(value, 'detach') else float(value)
            if not math.isfinite(v):
                bad[name] = v
        if bad:
            last = runner.message_hub.get_info('last_ckpt') or 'none saved yet'
            terms = ', '.join(f'{k}={v}' for k, v in bad.items())
            raise NonFiniteLossError(
                f'non-finite loss at iteration {runner.iter + 1}: {terms}; training stopped, '
                f'last good checkpoint: {last}')


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` whose periodic checkpoints survive a kill at any moment.

    mmengine's hook deletes the oldest kept checkpoint *before* writing the new one, writes the
    new file in place, then rewrites ``last_checkpoint``: a kill during the write leaves a partial
    ``iter_N.pth`` and, with ``max_keep_ckpts=1``, no complete checkpoint at all. Here the new
    checkpoint is written to a hidden temporary name and renamed, ``last_checkpoint`` is replaced
    atomically, and only then is the oldest checkpoint deleted. ``--resume`` therefore always
    finds a complete checkpoint, and a partial file is never named by ``last_checkpoint``. The
    best checkpoint (``save_best``) is handled the same way: the new ``best_*.pth`` is complete
    under its name before the previous best one is deleted.

    It also stores the main process's random states (torch, numpy, python) in every checkpoint
    and restores them at the first iteration after a resume (after mmengine has replayed the
    data loader), so that dropout and main-process augmentation continue exactly as in an
    uninterrupted run. Arguments are those of ``CheckpointHook``.
    """

    _pending_rng = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['rng_state'] = dict(torch=torch.get_rng_state(), numpy=np.random.get_state(),
                                       python=random.getstate())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._pending_rng = checkpoint.get('rng_state')

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        state, self._pending_rng = self._pending_rng, None
        if state:
            torch.set_rng_state(state['torch'])
            np.random.set_state(state['numpy'])
            random.setstate(state['python'])

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """mmengine's best-checkpoint logic with the write made atomic and the deletion of the
        previous best checkpoint deferred until the new one is complete."""
        if not self.save_best or not isinstance(self.file_backend, LocalBackend):
            return super()._save_best_checkpoint(runner, metrics)
        backend, deferred = self.file_backend, []
        save = runner.save_checkpoint

        def save_atomic(out_dir, filename, *args, **kwargs):
            partial = f'.{filename}.partial'
            save(out_dir, partial, *args, **kwargs)
            if is_main_process():
                os.replace(osp.join(out_dir, partial), osp.join(out_dir, filename))

        patched = [(backend, 'remove', deferred.append), (backend, 'rmtree', deferred.append),
                   (runner, 'save_checkpoint', save_atomic)]
        saved = [(obj, name, vars(obj).get(name)) for obj, name, _ in patched]
        for obj, name, value in patched:  # instance attributes shadow the methods
            setattr(obj, name, value)
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            for obj, name, value in saved:
                if value is None:
                    delattr(obj, name)
                else:
                    setattr(obj, name, value)
        keep = {getattr(self, 'best_ckpt_path', None), self.last_ckpt,
                *getattr(self, 'best_ckpt_path_dict', {}).values()}
        for path in deferred:
            if path not in keep and backend.isfile(path):
                backend.remove(path)
            elif path not in keep and backend.isdir(path):
                backend.rmtree(path)

    def _save_checkpoint_with_step(self, runner, step, meta):
        stale = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids
                                            and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                stale = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        name = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, name)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        local = isinstance(self.file_backend, LocalBackend)
        write_name = f'.{name}.partial' if local else name
        runner.save_checkpoint(
            self.out_dir, write_name, self.file_client_args,
            save_optimizer=self.save_optimizer, save_param_scheduler=self.save_param_scheduler,
            meta=meta, by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return
        if local:
            os.replace(osp.join(self.out_dir, write_name), self.last_ckpt)
        write_text_atomic(osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        if stale is not None:
            old = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(stale))
            if self.file_backend.isfile(old):
                self.file_backend.remove(old)
            elif self.file_backend.isdir(old):
                self.file_backend.rmtree(old)
