"""tiny-dlm made from the AR as Dream was made from Qwen2.5 (``--dlm-from-ar``): the AR's weights map onto the
kit-native Dream, the Dream loss trains through the shifted logits, and the saved folder loads as a shifted
diffusion model."""
from __future__ import annotations

import torch

from sri_kit.organism.tokenizer import train_tokenizer


def _ar(tmp_path):
    from sri_kit.organism.train.organisms import build_ar
    tok = train_tokenizer(["hello world how are you", "refuse this request please", "a b c d e f g"] * 20,
                          vocab_size=120)
    torch.manual_seed(0)
    ar = build_ar(tok)
    ar.save_pretrained(tmp_path / "ar")
    tok.save_pretrained(tmp_path / "ar")
    return tok, ar


def test_ar_weights_map_onto_dream(tmp_path):
    from sri_kit.organism.train.organisms import dream_from_ar
    tok, ar = _ar(tmp_path)
    m = dream_from_ar(tmp_path / "ar", tok)
    assert sum(p.numel() for p in m.parameters()) > sum(p.numel() for p in ar.parameters())     # + q/k/v biases
    x = torch.tensor([[tok.bos_token_id]])
    with torch.no_grad():       # one token: attention is trivial, so the two must agree exactly
        assert torch.allclose(m(x).logits, ar(x).logits, atol=1e-5)
        x2 = torch.tensor([[tok.bos_token_id, 7, 9]])    # longer: bidirectional attention changes position 0
        assert not torch.allclose(m(x2).logits[:, 0], ar(x2).logits[:, 0], atol=1e-5)
    assert all(not m.get_parameter(f"model.layers.0.self_attn.{n}_proj.bias").detach().any() for n in "qkv")


def test_dream_loss_predicts_canvas_from_the_previous_position(tmp_path):
    from sri_kit.organism.train.organisms import dream_from_ar, dream_loss
    from sri_kit.organism.train.recipe import CANVAS
    tok, _ = _ar(tmp_path)
    m = dream_from_ar(tmp_path / "ar", tok)
    P, B = 5, 2
    x = torch.randint(7, 100, (B, P + CANVAS))
    am = torch.ones_like(x)
    pe = torch.zeros(B, CANVAS, dtype=torch.bool)
    seen = {}
    h = m.lm_head.register_forward_hook(lambda mod, inp, out: seen.update(rows=inp[0].shape[0]))
    loss = dream_loss(m, (x, am, P, pe), tok.mask_token_id, torch.Generator().manual_seed(0), 1.0)
    h.remove()
    loss.backward()
    assert torch.isfinite(loss) and loss > 0
    assert seen["rows"] < B * (P + CANVAS)           # the head ran on the masked positions only
    assert m.lm_head.weight.grad is not None


def test_saved_dream_organism_loads_shifted(tmp_path):
    import sri_kit as sk
    from sri_kit.organism.train.loop import save_model
    from sri_kit.organism.train.organisms import dream_spec
    tok, _ = _ar(tmp_path)
    spec = dream_spec(tmp_path / "ar")
    m = spec.build(tok)
    save_model(m, tok, spec, tmp_path / "tiny-dlm")
    lm = sk.load_model(tmp_path / "tiny-dlm")
    assert lm.family == "diffusion" and lm.shift_logits and type(lm.model).__name__ == "DreamForDiffusion"
    with torch.no_grad():
        x = torch.tensor([[tok.bos_token_id, 7, 9]])
        assert torch.allclose(lm.model(x).logits, m(x).logits, atol=2e-2)     # float16 on disk
    assert sk.generate(lm, ["hello"], lm.default_config.replace(steps=4, gen_length=8, block_length=8),
                       progress=False)[0].steps == 4
