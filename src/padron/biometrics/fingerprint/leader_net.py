"""pyfing's LEADER minutiae network as a plain PyTorch module, loaded from pyfing's own weights.

pyfing builds LEADER as a Keras 3 functional model; on Keras's PyTorch backend every layer goes
through Keras's channels-last wrappers and most convolutions land in torch's slow reference
kernel (``_slow_conv2d_forward``): 0.6-2.4 s of processor time per print. This module is the same
network written directly in torch, channels-first, so every convolution runs in oneDNN's kernels.
The layer graph follows ``pyfing.minutiae_end_to_end.Leader._build_model`` (pyfing 0.7.3) layer
for layer; the weights are copied from the Keras model that pyfing builds and loads from the
``LEADER.weights.h5`` shipped in its wheel (nothing is downloaded or stored by padron). Keras
semantics kept: "same" padding, LayerNormalization over the channel axis with epsilon 1e-3,
exact (erf) GELU, nearest-neighbour up-sampling, dropout absent at inference. A test compares
the output with the Keras model's on real and synthetic prints.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F  # noqa: N812 - torch's own idiom

#: Keras's LayerNormalization default.
_LN_EPSILON = 1e-3


class _LayerNorm(nn.Module):
    """Keras ``LayerNormalization(axis=-1)`` on an NCHW tensor: normalizes over the channels.

    The channel means are taken by a 1x1 convolution with weights 1/C instead of a reduction:
    in NCHW a reduction over channels walks memory with a stride and was the slowest operator
    in onnxruntime; the convolution is one GEMM. Same formula (biased variance, epsilon inside
    the square root), equal up to float rounding."""

    average: Tensor

    def __init__(self, channels: int, affine: bool = True, real: list[int] | None = None) -> None:
        super().__init__()
        self.affine = affine
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        real = list(range(channels)) if real is None else real
        average = torch.zeros((1, channels, 1, 1))
        average[0, real] = 1.0 / len(real)  # padding channels (see _InverseBottleneck) do not count
        self.register_buffer("average", average)

    def forward(self, x: Tensor) -> Tensor:
        centred = x - F.conv2d(x, self.average)
        variance = F.conv2d(centred * centred, self.average)
        out = centred * torch.rsqrt(variance + _LN_EPSILON)
        if not self.affine:  # scale and shift folded into the next 1x1 convolution
            return out
        return out * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


def _conv(cin: int, cout: int, k: int, dilation: int = 1, bias: bool = True, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(
        cin, cout, k, padding=dilation * (k - 1) // 2, dilation=dilation, bias=bias, groups=groups
    )


class _Stem(nn.Module):
    def __init__(self, name: str, filters: int, max_pooling: bool) -> None:
        super().__init__()
        self.name = name
        self.max_pooling = max_pooling
        self.conv = _conv(1, filters, 5)
        self.dilated = _conv(1, filters, 5, dilation=2)
        self.ln = _LayerNorm(2 * filters)

    def forward(self, x: Tensor) -> Tensor:
        x = F.gelu(self.ln(torch.cat([self.conv(x), self.dilated(x)], dim=1)))
        return F.max_pool2d(x, 2) if self.max_pooling else F.avg_pool2d(x, 2)


class _SepConv(nn.Module):
    """SeparableConv2D (depthwise without bias, pointwise with bias) -> LayerNorm -> GELU."""

    def __init__(self, name: str, cin: int, cout: int, k: int) -> None:
        super().__init__()
        self.name = name
        self.depthwise = _conv(cin, cin, k, bias=False, groups=cin)
        self.pointwise = _conv(cin, cout, 1)
        self.ln = _LayerNorm(cout)

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(self.ln(self.pointwise(self.depthwise(x))))


def _round8(n: int) -> int:
    return (n + 7) // 8 * 8


class _InverseBottleneck(nn.Module):
    """Depthwise conv -> LayerNorm -> 1x1 expansion (GELU) -> 1x1 reduction -> residual add ->
    1x1 adjustment.

    When the block narrows (``cout < cin``) the reduction and adjustment, both linear, are merged
    into one 1x1 convolution from the expanded features straight to ``cout`` channels plus one
    from the block input (``adjust(x + reduce(g)) = adjust(x) + (adjust o reduce)(g)``): the same
    function with fewer operations (the heads' 208 -> 52 -> 6 becomes 208 -> 6), equal up to
    float rounding.

    Channel padding: LEADER's decoder has widths such as 27, 91, 42 and 20, and its
    concatenations 59, 219 and 106; onnxruntime's fast blocked (NCHWc) kernels want multiples of
    8 and fell back to slow ones there. Here the outputs are padded to ``cout_padded`` with
    channels whose weights and biases are zero (so they are exactly zero), the input's real
    channels sit at ``real_in`` of ``cin_padded``, and every weight reading a padding channel is
    zero; the LayerNorm averages over the real channels only. The result on the real channels is
    unchanged."""

    def __init__(
        self, name: str, real_in: list[int], cin_padded: int, cout: int, cout_padded: int, k: int
    ) -> None:
        super().__init__()
        self.name = name
        self.real_in = real_in
        cin = len(real_in)
        self.cout = cout
        self.merged = cout < cin
        self.expanded = _round8(4 * cin)
        self.depthwise = _conv(cin_padded, cin_padded, k, bias=False, groups=cin_padded)
        self.ln = _LayerNorm(cin_padded, affine=False, real=real_in)  # scale/shift live in ``expand``
        self.expand = _conv(cin_padded, self.expanded, 1)
        self.reduce = _conv(
            self.expanded, cout_padded if self.merged else cin_padded, 1, bias=not self.merged
        )
        self.adjust = _conv(cin_padded, cout_padded, 1)

    def forward(self, x: Tensor) -> Tensor:
        g = F.gelu(self.expand(self.ln(self.depthwise(x))))
        out: Tensor = self.adjust(x) + self.reduce(g) if self.merged else self.adjust(x + self.reduce(g))
        return out


def _downsample(x: Tensor) -> Tensor:
    half = x.shape[1] // 2
    return torch.cat([F.max_pool2d(x[:, :half], 2), F.avg_pool2d(x[:, half:], 2)], dim=1)


def _upsample(x: Tensor) -> Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


def _u_net(x: Tensor, encoders: nn.ModuleList, decoders: nn.ModuleList) -> Tensor:
    """One of LEADER's two U-nets: each encoder block's output is kept as a skip and
    down-sampled; each decoder block's output is up-sampled and joined to the matching skip."""
    skips = []
    for block in encoders:
        x = block(x)
        skips.append(x)
        x = _downsample(x)
    for block, skip in zip(decoders, reversed(skips), strict=True):
        x = torch.cat([_upsample(block(x)), skip], dim=1)
    return x


class _Head(nn.Module):
    def __init__(self, name: str, real_in: list[int], cin_padded: int) -> None:
        super().__init__()
        self.name = name
        self.ibc = _InverseBottleneck(f"{name}_ibc", real_in, cin_padded, 6, 6, 7)
        self.conv1 = _conv(6, 4, 1)
        self.ln = _LayerNorm(4)
        self.conv2 = _conv(4, 4, 1)

    def forward(self, x: Tensor) -> Tensor:
        # 1x1 convolutions, a per-pixel LayerNorm and GELU commute with nearest up-sampling:
        # applied before it they touch a quarter of the pixels, with identical results
        return _upsample(F.gelu(self.conv2(self.ln(self.conv1(self.ibc(x))))))


_ENC0 = (16, 32, 64, 128)
_ENC1 = (32, 64, 128, 32)
_DEC1 = (20, 42, 91, 27)


class LeaderNet(nn.Module):
    """LEADER: NCHW float input (1 channel, grey levels 0-255, sides multiples of 32) -> NCHW
    output with pyfing's four channels (position probability, direction, type, position after
    non-maximum suppression) at the input resolution."""

    def __init__(self) -> None:
        super().__init__()
        self.stem0 = _Stem("stem0", 8, True)
        self.stem1 = _Stem("stem1", 16, False)
        enc0, cin = [], 16
        for i, fc in enumerate(_ENC0):
            enc0.append(_SepConv(f"enc0_{i}", cin, fc, 5))
            cin = fc
        self.enc0 = nn.ModuleList(enc0)
        dec0 = []
        for i, fc in reversed(list(enumerate(_ENC0))):
            dec0.append(_SepConv(f"dec0_{i}", cin, fc, 5))
            cin = 2 * fc  # concatenated with the skip input of the same width
        self.dec0 = nn.ModuleList(dec0)
        self.attention = nn.ModuleList(
            [_conv(cin, 16, 3, dilation=d) for d in (1, 3, 6)]
        )  # attention_conv_d1, _d3, _d6
        self.attention_s = _conv(48, cin, 1)
        cin = cin + 32  # attention output concatenated with stem1
        enc1, skips = [], []
        for i, fc in enumerate(_ENC1):
            enc1.append(_InverseBottleneck(f"enc1_{i}", list(range(cin)), cin, fc, fc, 7))
            cin = fc
            skips.append(fc)
        self.enc1 = nn.ModuleList(enc1)
        dec1, real_in = [], list(range(cin))
        for i, fc in reversed(list(enumerate(_DEC1))):
            padded = _round8(fc)
            dec1.append(_InverseBottleneck(f"dec1_{i}", real_in, _round8(max(real_in) + 1), fc, padded, 7))
            real_in = list(range(fc)) + list(range(padded, padded + skips[i]))
        self.dec1 = nn.ModuleList(dec1)
        #: channels of the feature map the heads read (real ones at ``feature_real``)
        self.feature_channels = max(real_in) + 1
        self.feature_real = real_in
        self.heads = nn.ModuleList([_Head(f"head_{k}", real_in, self.feature_channels) for k in range(3)])
        # head_conv_pos (4 -> 1), head_conv_dir (4 -> 2) and head_conv_typ (4 -> 1), each on its own
        # head's features, as one block-diagonal 12 -> 4 convolution: one pass over the
        # full-resolution maps instead of three; the zero blocks add exact zeros
        self.head_out = _conv(12, 4, 5)
        self.blur = _conv(1, 1, 5, bias=False)

    def features(self, image: Tensor) -> Tensor:
        """Everything before the three heads: the half-resolution feature map (``feature_channels``
        channels, of which LEADER's 52 at ``feature_real``, the others zero)."""
        x = _u_net(self.stem0(image), self.enc0, self.dec0)
        gate = torch.sigmoid(self.attention_s(torch.cat([F.gelu(conv(x)) for conv in self.attention], dim=1)))
        return _u_net(torch.cat([x * gate, self.stem1(image)], dim=1), self.enc1, self.dec1)

    def _nms(self, pos: Tensor) -> Tensor:
        blurred = self.blur(pos)
        peaks = F.max_pool2d(blurred, 7, stride=1, padding=3)
        nms: Tensor = blurred * (blurred == peaks).to(blurred.dtype)
        return nms

    def forward(self, image: Tensor) -> Tensor:
        x = self.features(image)
        y = self.head_out(torch.cat([head(x) for head in self.heads], dim=1))
        pos = torch.sigmoid(y[:, 0:1])
        direction = torch.atan2(y[:, 2:3], y[:, 1:2])
        typ = torch.sigmoid(y[:, 3:4])
        return torch.cat([pos, direction, typ, self._nms(pos)], dim=1)

    def trunk(self, image: Tensor) -> tuple[Tensor, Tensor]:
        """The half-resolution features and the position map after non-maximum suppression (the
        minutia quality), computing only the position head over the whole image."""
        x = self.features(image)
        w, b = self.head_out.weight[0:1, 0:4], self.head_out.bias[0:1]  # type: ignore[index]
        pos = torch.sigmoid(F.conv2d(self.heads[0](x), w, b, padding=2))
        return x, self._nms(pos)

    def patch_heads(self, patches: Tensor, mask: Tensor) -> Tensor:
        """Direction and type heads on ``PATCH`` x ``PATCH`` windows of the features (zero outside
        the map) around candidate minutiae: (N, 2, 4, 4) = direction and type at full-resolution
        pixels (2 r, 2 c) .. (2 r + 3, 2 c + 3) for a window whose top-left feature pixel is
        (r - 4, c - 4). ``mask`` (N, 1, 8, 8) is 0 where the up-sampled maps lie outside the
        image, where the full-image convolution sees its zero padding. Same operations as
        :meth:`forward` restricted to what those pixels depend on (valid convolutions instead of
        padded ones)."""
        maps = []
        for head in (self.heads[1], self.heads[2]):
            assert isinstance(head, _Head)
            h = _ibc_valid(head.ibc, patches)
            maps.append(_upsample(F.gelu(head.conv2(head.ln(head.conv1(h))))))
        w, b = self.head_out.weight[1:4, 4:12], self.head_out.bias[1:4]  # type: ignore[index]
        y = F.conv2d(torch.cat(maps, dim=1) * mask, w, b)
        return torch.cat([torch.atan2(y[:, 1:2], y[:, 0:1]), torch.sigmoid(y[:, 2:3])], dim=1)


#: Side of the feature windows :meth:`LeaderNet.patch_heads` takes.
PATCH = 10


def _ibc_valid(block: _InverseBottleneck, x: Tensor) -> Tensor:
    """``block`` on the pixels whose whole depthwise window lies inside ``x``."""
    r = (block.depthwise.kernel_size[0] - 1) // 2
    d = F.conv2d(x, block.depthwise.weight, groups=block.depthwise.groups)
    g = F.gelu(block.expand(block.ln(d)))
    inner = x[:, :, r:-r, r:-r]
    out: Tensor = (
        block.adjust(inner) + block.reduce(g) if block.merged else block.adjust(inner + block.reduce(g))
    )
    return out


class Trunk(nn.Module):
    """``LeaderNet.trunk`` as a module (for export)."""

    def __init__(self, net: LeaderNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: Tensor) -> tuple[Tensor, Tensor]:
        return self.net.trunk(image)


class PatchHeads(nn.Module):
    """``LeaderNet.patch_heads`` as a module (for export)."""

    def __init__(self, net: LeaderNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, patches: Tensor, mask: Tensor) -> Tensor:
        return self.net.patch_heads(patches, mask)


def _keras_weights(model: Any, name: str) -> list[Any]:
    return [torch.from_numpy(w.copy()) for w in model.get_layer(name).get_weights()]


def _load_conv(conv: nn.Conv2d, weights: list[Tensor]) -> None:
    kernel = weights[0]  # Keras (kh, kw, in, out); depthwise (kh, kw, in, 1)
    if conv.groups > 1:
        conv.weight.data.copy_(kernel.permute(2, 3, 0, 1))
    else:
        conv.weight.data.copy_(kernel.permute(3, 2, 0, 1))
    if conv.bias is not None:
        conv.bias.data.copy_(weights[1])


def _load_ln(ln: _LayerNorm, weights: list[Tensor]) -> None:
    ln.weight.data.copy_(weights[0])
    ln.bias.data.copy_(weights[1])


def _embed(values: Tensor, shape: tuple[int, ...], index: tuple[Any, ...]) -> Tensor:
    """``values`` placed at ``index`` of a zero tensor of ``shape`` (channel padding)."""
    out = torch.zeros(shape, dtype=values.dtype)
    out[torch.meshgrid(*[torch.as_tensor(i) for i in index], indexing="ij")] = values
    return out


def _load_ibc(block: _InverseBottleneck, model: Any) -> None:
    n = block.name
    real = block.real_in
    cin_p, exp_p = block.depthwise.in_channels, block.expanded
    cout_p = block.adjust.out_channels
    outs = list(range(block.cout))
    (depthwise,) = _keras_weights(model, f"{n}_depthwise_conv")  # (k, k, cin, 1)
    k = depthwise.shape[0]
    _load_conv(block.depthwise, [_embed(depthwise, (k, k, cin_p, 1), (range(k), range(k), real, [0]))])
    gamma, beta = _keras_weights(model, f"{n}_ln")
    expand_w, expand_b = _keras_weights(model, f"{n}_conv_exp")
    # expand(gamma * u + beta) = (gamma-scaled rows of expand) u + (expand(beta) + b)
    e = expand_w[0, 0].double()  # (in, out): Keras 1x1 kernels compute y = x @ K
    exps = list(range(e.shape[1]))
    folded_w = _embed((gamma.double()[:, None] * e).float(), (cin_p, exp_p), (real, exps))
    folded_b = _embed((beta.double() @ e + expand_b.double()).float(), (exp_p,), (exps,))
    _load_conv(block.expand, [folded_w[None, None], folded_b])
    reduce_w, reduce_b = _keras_weights(model, f"{n}_conv_red")
    adjust_w, adjust_b = _keras_weights(model, f"{n}_conv_adj")
    adjust = _embed(adjust_w[0, 0], (cin_p, cout_p), (real, outs))
    if not block.merged:
        _load_conv(block.adjust, [adjust[None, None], _embed(adjust_b, (cout_p,), (outs,))])
        reduce = _embed(reduce_w[0, 0], (exp_p, cin_p), (exps, real))
        _load_conv(block.reduce, [reduce[None, None], _embed(reduce_b, (cin_p,), (real,))])
        return
    # adjust(reduce(g)) = g @ (R @ A) + b_r @ A
    r, a = reduce_w[0, 0].double(), adjust_w[0, 0].double()
    merged = _embed((r @ a).float(), (exp_p, cout_p), (exps, outs))
    _load_conv(block.reduce, [merged[None, None]])
    bias = _embed((reduce_b.double() @ a + adjust_b.double()).float(), (cout_p,), (outs,))
    _load_conv(block.adjust, [adjust[None, None], bias])


def from_keras(model: Any) -> LeaderNet:
    """A :class:`LeaderNet` in inference mode holding the weights of pyfing's Keras LEADER model."""
    net = LeaderNet()
    with torch.no_grad():
        for stem in (net.stem0, net.stem1):
            _load_conv(stem.conv, _keras_weights(model, f"{stem.name}_conv"))
            _load_conv(stem.dilated, _keras_weights(model, f"{stem.name}_dilated_conv"))
            _load_ln(stem.ln, _keras_weights(model, f"{stem.name}_ln"))
        for sep in [*net.enc0, *net.dec0]:
            assert isinstance(sep, _SepConv)
            depthwise, pointwise, bias = _keras_weights(model, f"{sep.name}_conv")
            _load_conv(sep.depthwise, [depthwise])
            _load_conv(sep.pointwise, [pointwise, bias])
            _load_ln(sep.ln, _keras_weights(model, f"{sep.name}_ln"))
        for conv, d in zip(net.attention, (1, 3, 6), strict=True):
            assert isinstance(conv, nn.Conv2d)
            _load_conv(conv, _keras_weights(model, f"attention_conv_d{d}"))
        _load_conv(net.attention_s, _keras_weights(model, "attention_s"))
        for ibc in [*net.enc1, *net.dec1]:
            assert isinstance(ibc, _InverseBottleneck)
            _load_ibc(ibc, model)
        for head in net.heads:
            assert isinstance(head, _Head)
            _load_ibc(head.ibc, model)
            _load_conv(head.conv1, _keras_weights(model, f"{head.name}_conv1"))
            _load_ln(head.ln, _keras_weights(model, f"{head.name}_ln"))
            _load_conv(head.conv2, _keras_weights(model, f"{head.name}_conv2"))
        kernel = torch.zeros((5, 5, 12, 4))
        bias = torch.zeros(4)
        for k, (name, outputs) in enumerate(
            (("head_conv_pos", [0]), ("head_conv_dir", [1, 2]), ("head_conv_typ", [3]))
        ):
            w, b = _keras_weights(model, name)
            kernel[:, :, 4 * k : 4 * k + 4, outputs] = w
            bias[outputs] = b
        _load_conv(net.head_out, [kernel, bias])
        _load_conv(net.blur, _keras_weights(model, "nms_Gaussian_blur"))
    return net.eval()
