"""A GPT-style decoder in PyTorch, shared by the training comparisons
(test/Integration/Train/Inputs/train_vs_torch.py) and the training benchmark
(bench/train_vs_peers): token and position embeddings, pre-norm blocks with
causal multi-head attention and a GELU MLP, a final layer norm and an LM head
(tied to the token embedding, or its own)."""
import torch


class Block(torch.nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = torch.nn.LayerNorm(d)
        self.qkv = torch.nn.Linear(d, 3 * d)
        self.proj = torch.nn.Linear(d, d)
        self.ln2 = torch.nn.LayerNorm(d)
        self.fc = torch.nn.Linear(d, 4 * d)
        self.out = torch.nn.Linear(4 * d, d)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)

        def heads(z):
            return z.reshape(b, t, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = heads(q), heads(k), heads(v)
        att = q @ k.transpose(-2, -1) / (d // self.heads) ** 0.5
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool), 1)
        att = torch.softmax(att.masked_fill(mask, float("-inf")), dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(y)
        return x + self.out(torch.nn.functional.gelu(self.fc(self.ln2(x))))


class Gpt(torch.nn.Module):
    def __init__(self, layers, d, heads, seq, vocab, tied=True):
        super().__init__()
        self.wte = torch.nn.Embedding(vocab, d)
        self.wpe = torch.nn.Embedding(seq, d)
        self.blocks = torch.nn.ModuleList([Block(d, heads) for _ in range(layers)])
        self.ln = torch.nn.LayerNorm(d)
        self.head = None if tied else torch.nn.Linear(d, vocab, bias=False)
        self.register_buffer("pos", torch.arange(seq), persistent=False)

    def forward(self, ids):
        x = self.wte(ids) + self.wpe(self.pos)
        for b in self.blocks:
            x = b(x)
        x = self.ln(x)
        return x @ self.wte.weight.t() if self.head is None else self.head(x)


def build_gpt(layers, d, heads, seq, vocab, tied=True, noise=0.1, seed=0):
    """The model with seeded weights, each perturbed by `noise` x N(0, 1):
    torch.onnx.export shares initializers of equal value (the layer norms'
    ones and zeros), which would tie parameters the torch model keeps apart."""
    torch.manual_seed(seed)
    net = Gpt(layers, d, heads, seq, vocab, tied)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(noise * torch.randn_like(p))
    return net
