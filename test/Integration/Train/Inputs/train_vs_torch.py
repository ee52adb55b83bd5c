"""Trains a small model with `partita train` and with PyTorch from the same
initial weights and batch, and compares the loss of every step, the first
step's gradient of every parameter (--dump-grads) and the trained weights
(--save-weights), parameter by parameter (ONNX initializer names are the
torch parameter names).

    train_vs_torch.py PARTITA OUTDIR --model mlp|mlp3d --loss cross_entropy|mse|mean
                      --optimizer sgd|adamw [--steps N]

Prints one line per compared quantity and "train_vs_torch: OK"; exits 1 on
the first mismatch.
"""
import argparse
import os
import re
import subprocess
import sys

import numpy as np
import torch

SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), *[os.pardir] * 4, "scripts")


def build(name):
    torch.manual_seed(0)
    if name == "mlp":
        # Gemm (Linear on 2-D), tanh, erf-GELU, layer norm, a residual add.
        class Mlp(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = torch.nn.Linear(6, 16)
                self.fc2 = torch.nn.Linear(16, 16)
                self.norm = torch.nn.LayerNorm(16)
                self.head = torch.nn.Linear(16, 5)

            def forward(self, x):
                h = torch.tanh(self.fc1(x))
                h = self.norm(h + torch.nn.functional.gelu(self.fc2(h)))
                return self.head(h)
        return Mlp(), torch.randn(8, 6)
    if name == "mlp3d":
        # MatMul on 3-D activations (a transposed weight initializer per
        # Linear), softmax over the last axis, sum over the sequence.
        class Seq(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.proj = torch.nn.Linear(6, 12)
                self.out = torch.nn.Linear(12, 4)

            def forward(self, x):
                h = torch.softmax(self.proj(x), dim=-1) * torch.sigmoid(self.proj(x))
                return self.out(h).sum(dim=1)
        return Seq(), torch.randn(3, 5, 6)
    if name == "cnn":
        # Convolutions (padded, strided, grouped), ReLU, average and global
        # average pooling, a linear head.
        net = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=2), torch.nn.ReLU(),
            torch.nn.AvgPool2d(2), torch.nn.Conv2d(8, 6, 1),
            torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(6, 5))
        return net, torch.randn(2, 3, 12, 12)
    if name == "einsum":
        # torch.einsum exports ONNX Einsum: a batched projection and a
        # contraction with a vector.
        class Ein(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.w = torch.nn.Parameter(torch.randn(6, 8) * 0.3)
                self.v = torch.nn.Parameter(torch.randn(8, 3) * 0.3)

            def forward(self, x):
                h = torch.tanh(torch.einsum("bsi,ij->bsj", x, self.w))
                return torch.einsum("bsj,jc->bc", h, self.v)
        return Ein(), torch.randn(2, 5, 6)
    if name == "resnet":
        # A ResNet stem (overlapping 3x3 stride-2 max pool) and a basic
        # block with its residual add, a ceil_mode max pool, global average
        # pooling and a linear head.
        class Block(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.c1 = torch.nn.Conv2d(8, 8, 3, padding=1)
                self.c2 = torch.nn.Conv2d(8, 8, 3, padding=1)

            def forward(self, x):
                return torch.relu(x + self.c2(torch.relu(self.c1(x))))
        net = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
            torch.nn.MaxPool2d(3, stride=2, padding=1), Block(),
            torch.nn.MaxPool2d(2, ceil_mode=True),
            torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 5))
        return net, torch.randn(2, 3, 13, 13)
    if name == "gpt":
        # One block, the LM head tied to the token embedding.
        sys.path.insert(0, SCRIPTS)
        from torch_gpt import build_gpt
        return build_gpt(layers=1, d=16, heads=2, seq=8, vocab=32), torch.randint(0, 32, (2, 8))
    raise SystemExit(f"unknown model {name}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("partita")
    ap.add_argument("out")
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--loss", default="cross_entropy")
    ap.add_argument("--optimizer", default="adamw")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--flags", default="", help="more partita train flags, space-separated")
    ap.add_argument("--rtol", type=float, default=1e-4,
                    help="relative tolerance (bf16 training is compared with f32 torch)")
    ap.add_argument("--atol", type=float, default=1e-5)
    ap.add_argument("--save-onnx", action="store_true",
                    help="save the trained model as ONNX and read the weights from it")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    model, x = build(args.model)
    path = os.path.join(args.out, "model.onnx")
    torch.onnx.export(model, (x,), path, input_names=["x"], output_names=["y"],
                      opset_version=17, do_constant_folding=False)
    with torch.no_grad():
        y = model(x)
    if args.loss == "cross_entropy":
        labels = torch.randint(0, y.shape[-1], y.shape[:-1])
        labels.view(-1)[1] = -100  # not counted
    else:
        labels = torch.randn(y.shape)
    np.save(os.path.join(args.out, "x.npy"), x.numpy())
    np.save(os.path.join(args.out, "labels.npy"), labels.numpy())

    lr, wd = 0.01, 0.01
    if args.optimizer == "adamw":
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd, eps=1e-8)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=wd)

    def loss_of(out):
        if args.loss == "cross_entropy":
            return torch.nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]),
                                                     labels.reshape(-1), ignore_index=-100)
        if args.loss == "mse":
            return torch.nn.functional.mse_loss(out, labels)
        return out.mean()

    torch_losses, first_grads = [], None
    for step in range(args.steps):
        opt.zero_grad()
        loss = loss_of(model(x))
        loss.backward()
        if step == 0:
            first_grads = {n: p.grad.detach().numpy().copy() for n, p in model.named_parameters()}
        opt.step()
        torch_losses.append(loss.item())

    grads_dir, weights_dir = os.path.join(args.out, "grads"), os.path.join(args.out, "weights")
    if args.save_onnx:
        weights_dir = os.path.join(args.out, "trained.onnx")
    cmd = [args.partita, "train", path, "--inputs", os.path.join(args.out, "x.npy"),
           "--loss", args.loss, "--optimizer", args.optimizer, "--lr", str(lr),
           "--weight-decay", str(wd), "--steps", str(args.steps),
           "--dump-grads", grads_dir, "--save-weights", weights_dir]
    if args.loss != "mean":
        cmd += ["--labels", os.path.join(args.out, "labels.npy")]
    if args.optimizer == "sgd":
        cmd += ["--momentum", "0.9"]
    cmd += args.flags.split()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        print(p.stdout)
        sys.exit(f"train_vs_torch: partita train failed ({p.returncode})")
    ours = [float(m) for m in re.findall(r"^step \d+: loss (\S+)$", p.stdout, re.M)]

    bad = 0

    def check(what, got, want, rtol, atol):
        nonlocal bad
        got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
        err = float(np.max(np.abs(got - want))) if want.size else 0.0
        ok = got.shape == want.shape and np.allclose(got, want, rtol=rtol, atol=atol)
        print(f"{what}: {'ok' if ok else 'MISMATCH'} (max abs err {err:.3g})")
        bad += not ok

    check("losses", ours, torch_losses, args.rtol, args.atol)
    state = {n: t.detach().numpy() for n, t in model.named_parameters()}
    if args.save_onnx:
        # The trained model: a valid ONNX file, the initializers under their
        # names, and it runs like the trained torch model.
        import onnx
        from onnx import numpy_helper
        trained = onnx.load(weights_dir)
        onnx.checker.check_model(trained)
        saved = {t.name: numpy_helper.to_array(t) for t in trained.graph.initializer}
        run = subprocess.run([args.partita, "run", weights_dir, "--inputs",
                              os.path.join(args.out, "x.npy"), "--outputs",
                              os.path.join(args.out, "outputs")],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if run.returncode != 0:
            print(run.stdout)
            sys.exit("train_vs_torch: partita run on the trained model failed")
        with torch.no_grad():
            want = model(x).numpy()
        outs = sorted(os.listdir(os.path.join(args.out, "outputs")))
        check("trained model output", np.load(os.path.join(args.out, "outputs", outs[0])), want,
              args.rtol, args.atol)
    for name, grad in first_grads.items():
        f = os.path.join(grads_dir, name + ".npy")
        if not os.path.exists(f):
            print(f"grad {name}: MISSING")
            bad += 1
            continue
        check(f"grad {name}", np.load(f), grad, args.rtol, args.atol)
        got = saved[name] if args.save_onnx else np.load(os.path.join(weights_dir, name + ".npy"))
        check(f"weight {name}", got, state[name], args.rtol, args.atol)
    if bad:
        sys.exit(f"train_vs_torch: {bad} mismatches")
    print("train_vs_torch: OK")


if __name__ == "__main__":
    main()
