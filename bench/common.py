"""Shared pieces of the CPU benchmarks: the problem, timing, PyTorch eager."""

import statistics
import time

B, HQ, HKV, D, CHUNK, WINDOW, KEEP = 1, 32, 8, 128, 10, 32, 0.1
REPEAT = 5


def median_seconds(fn, repeat=REPEAT):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def torch_eager_seconds(q, k, v, policy):
    """The paper policy's score + select + compact as PyTorch eager CPU ops
    (one sequence, bhsd), median seconds; None when torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    tq, tk, tv = (torch.from_numpy(a) for a in (q, k, v))
    batch, q_heads, window, dim = q.shape
    kv_heads, T = k.shape[1], k.shape[2]
    group, prefix, chunk = q_heads // kv_heads, T - window, policy.chunk

    def select():
        logits = torch.matmul(tq.view(batch, kv_heads, group * window, dim),
                              tk.transpose(-1, -2)) / dim ** 0.5
        mask = torch.arange(T)[None, :] > (prefix + torch.arange(window).repeat(group))[:, None]
        probs = torch.softmax(logits.masked_fill(mask, float("-inf")), dim=-1)
        s = (probs[..., :prefix].sum(-2) / group).sum(1)[0]
        n = -(-prefix // chunk)
        cs = torch.nn.functional.pad(s, (0, n * chunk - prefix)).view(n, chunk).sum(-1)
        ids = torch.sort(torch.topk(cs, policy.num_selected(T)).indices).values
        pos = torch.cat([(ids[:, None] * chunk + torch.arange(chunk)).flatten(),
                         torch.arange(prefix, T)])
        pos = pos[pos < T]
        return tk[:, :, pos], tv[:, :, pos]

    return median_seconds(select)
