"""MobileNet V1 as the recipe trains it (Howard et al. 2017): the network, its export wrapper and
its parameter / MAC count. Split out of train.py; train.py re-exports these names."""

import torch
import torch.nn as nn
import torch.nn.functional as F

# --------------------------------------------------------------------------------------------
# Model: MobileNet V1
# --------------------------------------------------------------------------------------------

# (output channels at alpha=1, stride) of the 13 depthwise-separable blocks, Table 1 of the paper.
V1_BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
             (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]


def _ch(c, alpha):
    # Width multiplier, rounded to a multiple of 8 (exact for alpha in {0.25, 0.5, 0.75, 1.0}).
    return max(8, int(c * alpha + 4) // 8 * 8)


def conv_bn(cin, cout, k, stride, groups=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(inplace=True),
    )


class MobileNetV1(nn.Module):
    def __init__(self, alpha=0.5, num_classes=2, dropout=0.2):
        super().__init__()
        c = _ch(32, alpha)
        layers = [conv_bn(3, c, 3, 2)]
        for cout, s in V1_BLOCKS:
            cout = _ch(cout, alpha)
            layers.append(conv_bn(c, c, 3, s, groups=c))   # depthwise 3x3
            layers.append(conv_bn(c, cout, 1, 1))          # pointwise 1x1
            c = cout
        self.features = nn.Sequential(*layers)
        self.num_features = c
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(c, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward_both(self, x):
        f = self.features(x)
        f = torch.flatten(F.adaptive_avg_pool2d(f, 1), 1)
        return self.classifier(self.dropout(f)), f

    def forward(self, x):
        return self.forward_both(x)[0]


class ExportWrapper(nn.Module):
    """What goes into the ONNX file: returns (logits, features)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        f = self.net.features(x)
        f = torch.flatten(f.mean(dim=(2, 3)), 1)  # global average pool -> ReduceMean
        return self.net.classifier(f), f


def count_params_macs(model, size):
    """Parameters and multiply-accumulates (Conv2d + Linear) for one SxS image, via forward hooks."""
    macs = [0]

    def conv_hook(m, inp, out):
        kh, kw = m.kernel_size
        macs[0] += out.numel() // out.shape[0] * (m.in_channels // m.groups) * kh * kw

    def lin_hook(m, inp, out):
        macs[0] += m.in_features * m.out_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lin_hook))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    model.train(was_training)
    for h in hooks:
        h.remove()
    return sum(p.numel() for p in model.parameters()), macs[0]
