#!/usr/bin/env python3
"""Exports small versions of current architectures to ONNX, with random
weights, in the ONNX backend-test layout that `partita run DIR --check`
reads: DIR/NAME/model.onnx and DIR/NAME/test_data_set_0/{input,output}_K.pb,
the expected outputs computed by PyTorch itself.

torchvision models come from Debian's python3-torchvision; Hugging Face
models from PyPI's transformers (in a venv with the system site packages,
so that Debian's torch is the one exporting; scripts/models-venv.sh makes it):

    scripts/models-venv.sh
    bench/out/models-venv/bin/python scripts/gen_real_models.py OUT

usage: gen_real_models.py OUT [--family torchvision|transformers]
                             [--only NAME,...] [--list]
A family whose package is missing is skipped with one line saying so; the
exit status is non-zero only when an export that could run failed.
"""
import argparse
import os
import sys
import warnings

import numpy as np


def randomize(model):
    """Random weights where the library's initialization leaves a tensor
    constant (zero classifier heads, unit BatchNorm statistics), so that no
    output is trivially right."""
    import torch
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            if p.numel() > 1 and torch.all(p == p.flatten()[0]):
                p.copy_(torch.randn(p.shape, generator=g) * 0.05 + p)
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)


def save_case(out, name, model, inputs, input_names, output_names, opset=14):
    """Exports `model` on `inputs` (a tuple of tensors) and writes the
    reference outputs PyTorch computes for them."""
    import onnx
    import torch
    from onnx import numpy_helper

    randomize(model)
    d = os.path.join(out, name)
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    model.eval()
    with torch.no_grad():
        outs = model(*inputs)
        if isinstance(outs, dict) or hasattr(outs, "to_tuple"):
            outs = tuple(outs[k] for k in output_names)
        elif not isinstance(outs, (tuple, list)):
            outs = (outs,)
        outs = outs[:len(output_names)]
    # (Outside no_grad: under it torch's attention takes a fused fast path
    # that has no ONNX export.)
    torch.onnx.export(model, inputs, os.path.join(d, "model.onnx"), opset_version=opset,
                      input_names=input_names, output_names=output_names,
                      do_constant_folding=True)
    onnx.checker.check_model(os.path.join(d, "model.onnx"))
    for k, (t, n) in enumerate(zip(inputs, input_names)):
        p = numpy_helper.from_array(t.numpy(), n)
        open(os.path.join(d, "test_data_set_0", f"input_{k}.pb"), "wb").write(p.SerializeToString())
    for k, (t, n) in enumerate(zip(outs, output_names)):
        p = numpy_helper.from_array(t.detach().numpy(), n)
        open(os.path.join(d, "test_data_set_0", f"output_{k}.pb"), "wb").write(p.SerializeToString())


# --- torchvision: convolutional nets at 64x64 (ResNet, MobileNetV2 and V3,
# EfficientNet, RegNet, SqueezeNet, ShuffleNet, ConvNeXt) and a small ViT.

def torchvision_cases():
    import torch
    import torchvision.models as tv
    from torchvision.models.convnext import CNBlockConfig, ConvNeXt
    from torchvision.models.vision_transformer import VisionTransformer

    image = (2, 3, 64, 64)
    return {
        "resnet18": lambda: (tv.resnet18(num_classes=10), image),
        "mobilenet_v2": lambda: (tv.mobilenet_v2(width_mult=0.5, num_classes=10), image),
        "mobilenet_v3_small": lambda: (tv.mobilenet_v3_small(num_classes=10), image),
        "efficientnet_b0": lambda: (tv.efficientnet_b0(num_classes=10), image),
        "regnet_y_400mf": lambda: (tv.regnet_y_400mf(num_classes=10), image),
        "squeezenet1_1": lambda: (tv.squeezenet1_1(num_classes=10), image),
        "shufflenet_v2_x0_5": lambda: (tv.shufflenet_v2_x0_5(num_classes=10), image),
        # ConvNeXt's blocks (7x7 depthwise, channels-last LayerNorm, GELU,
        # layer scale) at two stages of two blocks: convnext_tiny is 28M
        # parameters.
        "convnext_small_stages": lambda: (ConvNeXt([CNBlockConfig(32, 64, 2),
                                                    CNBlockConfig(64, None, 2)],
                                                   num_classes=10), image),
        "vit_tiny": lambda: (VisionTransformer(image_size=32, patch_size=8, num_layers=2,
                                               num_heads=2, hidden_dim=64, mlp_dim=128,
                                               num_classes=10), (2, 3, 32, 32)),
    }


def export_torchvision(out, name, make):
    import torch
    torch.manual_seed(0)
    model, shape = make()
    x = torch.randn(*shape)
    save_case(out, name, model, (x,), ["pixel_values"], ["logits"])


# --- Hugging Face transformers: decoder (GPT-2, LLaMA, Mixtral), encoder (BERT,
# T5 encoder) and vision (ViT) models with two layers and small widths.

def transformers_cases():
    import transformers as hf

    small = dict(vocab_size=256)
    return {
        "hf_gpt2": lambda: (hf.GPT2LMHeadModel(hf.GPT2Config(
            n_layer=2, n_head=2, n_embd=64, n_positions=64, **small)), "tokens"),
        "hf_llama": lambda: (hf.LlamaForCausalLM(hf.LlamaConfig(
            num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, hidden_size=64,
            intermediate_size=128, max_position_embeddings=64, **small)), "tokens"),
        "hf_bert": lambda: (hf.BertModel(hf.BertConfig(
            num_hidden_layers=2, num_attention_heads=2, hidden_size=64, intermediate_size=128,
            max_position_embeddings=64, **small), add_pooling_layer=False), "tokens"),
        "hf_t5_encoder": lambda: (hf.T5EncoderModel(hf.T5Config(
            num_layers=2, num_heads=2, d_model=64, d_kv=32, d_ff=128, **small)), "tokens"),
        # Mixtral's sparse MoE block: a Python loop over experts, exported
        # as one NonZero routing per expert (docs/experts.md).
        "hf_mixtral": lambda: (hf.MixtralForCausalLM(hf.MixtralConfig(
            num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, hidden_size=64,
            intermediate_size=128, max_position_embeddings=64, num_local_experts=4,
            num_experts_per_tok=2, **small)), "tokens"),
        "hf_vit": lambda: (hf.ViTModel(hf.ViTConfig(
            num_hidden_layers=2, num_attention_heads=2, hidden_size=64, intermediate_size=128,
            image_size=32, patch_size=8), add_pooling_layer=False), "image"),
    }


def export_transformers(out, name, make):
    import torch
    torch.manual_seed(0)
    model, kind = make()
    model.config.use_cache = False
    model.config.return_dict = False
    if kind == "image":
        x = torch.randn(2, 3, 32, 32)
        save_case(out, name, model, (x,), ["pixel_values"], ["last_hidden_state"])
    else:
        x = torch.randint(0, model.config.vocab_size, (2, 16), dtype=torch.int64)
        first = "logits" if name in ("hf_gpt2", "hf_llama", "hf_mixtral") else "last_hidden_state"
        save_case(out, name, model, (x,), ["input_ids"], [first])


FAMILIES = [("torchvision", "torchvision", torchvision_cases, export_torchvision),
            ("transformers", "transformers", transformers_cases, export_transformers)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--family", choices=[f[0] for f in FAMILIES],
                    help="export this family only")
    ap.add_argument("--only", default="", help="comma-separated model names")
    ap.add_argument("--list", action="store_true", help="print the model names and exit")
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))
    # The exporters' tracer warnings (Python control flow frozen into the
    # graph at the traced shapes) are expected for these fixed-shape cases.
    warnings.filterwarnings("ignore")
    failed = 0
    for family, module, cases, export in FAMILIES:
        if args.family and family != args.family:
            continue
        try:
            __import__(module)
            __import__("torch")
        except ImportError as e:
            print(f"gen_real_models: skipped {family}: {e}")
            continue
        for name, make in cases().items():
            if only and name not in only:
                continue
            if args.list:
                print(name)
                continue
            if os.path.exists(os.path.join(args.out, name, "test_data_set_0", "output_0.pb")):
                print(f"gen_real_models: {name}: up to date")
                continue
            try:
                export(args.out, name, make)
                print(f"gen_real_models: {name}: exported")
            except Exception as e:  # one line per model, then go on
                failed += 1
                print(f"gen_real_models: {name}: export failed: {type(e).__name__}: "
                      f"{str(e).splitlines()[0] if str(e) else ''}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
