"""Differentiable surrogates of classification metrics, computed from probabilities.

Hard counts (``tp = sum(pred == y == k)``) have zero gradient almost everywhere. Replacing the
predicted one-hot vector by the softmax probabilities gives "soft" counts, and the metric
computed from them is smooth and can be optimised directly.
"""

import torch

from skextras.nn._serialization import register_factory

_EPS = 1e-7


def soft_counts(logits, target):
    """Soft true-positive, false-positive and false-negative counts per class.

    Parameters
    ----------
    logits : Tensor of shape (n, n_classes)
    target : LongTensor of shape (n,)
        Class indices.

    Returns
    -------
    tp, fp, fn : Tensors of shape (n_classes,)

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.losses import soft_counts
    >>> logits = torch.tensor([[2.0, -1.0], [0.5, 0.5], [-1.0, 3.0]])
    >>> target = torch.tensor([0, 1, 1])
    >>> tp, fp, fn = soft_counts(logits, target)
    >>> tp, fp, fn
    (tensor([0.9526, 1.4820]), tensor([0.5180, 0.0474]), tensor([0.0474, 0.5180]))
    """
    proba = torch.softmax(logits, dim=1)
    onehot = torch.nn.functional.one_hot(target, logits.shape[1]).to(proba.dtype)
    tp = (proba * onehot).sum(0)
    fp = (proba * (1 - onehot)).sum(0)
    fn = ((1 - proba) * onehot).sum(0)
    return tp, fp, fn


def soft_f1_loss(logits, target):
    """``1 - macro F1`` where F1 of class k is ``2 tp / (2 tp + fp + fn)`` on soft counts.

    Classes absent from the batch (no positives, no soft predictions) contribute an F1 of 0
    with a vanishing gradient, as in the hard macro-F1 with ``zero_division=0``.

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.losses import soft_f1_loss
    >>> logits = torch.tensor([[2.0, -1.0], [0.5, 0.5], [-1.0, 3.0]])
    >>> target = torch.tensor([0, 1, 1])
    >>> soft_f1_loss(logits, target)
    tensor(0.1945)
    """
    tp, fp, fn = soft_counts(logits, target)
    f1 = 2 * tp / (2 * tp + fp + fn + _EPS)
    return 1 - f1.mean()


def soft_accuracy_loss(logits, target):
    """``1 - mean probability of the true class``: the expected accuracy of sampling a label.

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.losses import soft_accuracy_loss
    >>> logits = torch.tensor([[2.0, -1.0], [0.5, 0.5], [-1.0, 3.0]])
    >>> target = torch.tensor([0, 1, 1])
    >>> soft_accuracy_loss(logits, target)
    tensor(0.1885)
    """
    proba = torch.softmax(logits, dim=1)
    return 1 - proba.gather(1, target[:, None]).mean()


def cross_entropy_loss(logits, target):
    """The usual multinomial cross entropy (mean over the batch).

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.losses import cross_entropy_loss
    >>> logits = torch.tensor([[2.0, -1.0], [0.5, 0.5], [-1.0, 3.0]])
    >>> target = torch.tensor([0, 1, 1])
    >>> cross_entropy_loss(logits, target)
    tensor(0.2533)
    """
    return torch.nn.functional.cross_entropy(logits, target)


for _loss in (soft_f1_loss, soft_accuracy_loss, cross_entropy_loss):
    register_factory(_loss)

LOSSES = {
    "cross_entropy": cross_entropy_loss,
    "soft_f1": soft_f1_loss,
    "soft_accuracy": soft_accuracy_loss,
}
