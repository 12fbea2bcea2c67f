"""The bundled UltraFace detector's ONNX graph as a trainable torch module, and back.

    net = OnnxNet("models/ultraface-masked-rfb-640/ultraface-masked-rfb-640.onnx")
    logits, loc = net(x)            # x: [N, 3, H, W], (p - 127) / 128; before softmax and box decoding
    net.save("out.onnx")            # the same graph, byte for byte, with the trained weights

The graph is run node by node with torch operators (Conv, Relu, Concat, Transpose, Reshape, Softmax,
the decoding's Slice/Mul/Add/Div/Sub/Exp, and the Shape/Gather/Unsqueeze of the reshapes). Every Conv
weight and bias is a parameter; nothing else is learned. `forward` stops at the two tensors the
decoding starts from: the class logits (the Softmax's input, [N, priors, 3]) and the raw box
regressions ([N, priors, 4], SSD encoding with variances 0.1 / 0.2 against `priors(w, h)`), so the
network trains at any input size the priors are made for. `decode` runs the whole graph (softmax and
decoding included) and is what the check against onnxruntime compares.
"""
import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper as nh

CENTER_VARIANCE, SIZE_VARIANCE = 0.1, 0.2


def _resize_input():
    """UltraFace's prior scheme lives in the model folder's resize_input.py (checked there against the file)."""
    import importlib.util
    import os
    path = os.path.join(os.path.dirname(__file__), "..", "ultraface-masked-rfb-640", "resize_input.py")
    spec = importlib.util.spec_from_file_location("resize_input", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


priors = _resize_input().priors  # (cx, cy, w, h) normalised, in the heads' output order


def _attr(n, name, default=None):
    for a in n.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


class OnnxNet(torch.nn.Module):
    def __init__(self, path):
        super().__init__()
        self.model = onnx.load(path)
        g = self.model.graph
        self.params = torch.nn.ParameterDict()
        self._key = {}
        self.consts = {}
        conv_inputs = {i for n in g.node if n.op_type == "Conv" for i in n.input[1:]}
        for t in g.initializer:
            arr = nh.to_array(t).copy()
            if t.name in conv_inputs:
                key = "p" + str(len(self._key))
                self._key[t.name] = key
                self.params[key] = torch.nn.Parameter(torch.from_numpy(arr.astype(np.float32)))
            else:
                self.consts[t.name] = arr
        for n in g.node:
            if n.op_type == "Constant":
                self.consts[n.output[0]] = nh.to_array(n.attribute[0].t).copy()
        self.nodes = list(g.node)
        # the tensors the decoding starts from: the Softmax's input and the box branch's Concat
        soft = next(n for n in self.nodes if n.op_type == "Softmax")
        self.logits_name = soft.input[0]
        first_slice = next(n for n in self.nodes if n.op_type == "Slice")
        self.loc_name = first_slice.input[0]
        self.input_name = g.input[0].name

    def _value(self, env, name):
        if name in env:
            return env[name]
        if name in self._key:
            return self.params[self._key[name]]
        return self.consts[name]

    def _run(self, x, stop):
        env = {self.input_name: x}
        for n in self.nodes:
            op = n.op_type
            ins = [self._value(env, i) for i in n.input]
            if op == "Constant":
                v = self.consts[n.output[0]]
                env[n.output[0]] = torch.from_numpy(v) if v.dtype == np.float32 and v.ndim > 0 else v
                continue
            if op == "Conv":
                pads = _attr(n, "pads", [0, 0, 0, 0])
                env[n.output[0]] = F.conv2d(ins[0], ins[1], ins[2] if len(ins) > 2 else None,
                                            stride=tuple(_attr(n, "strides", [1, 1])),
                                            padding=(pads[0], pads[1]), dilation=tuple(_attr(n, "dilations", [1, 1])),
                                            groups=_attr(n, "group", 1))
                assert pads[0] == pads[2] and pads[1] == pads[3], "asymmetric padding"
            elif op == "Relu":
                env[n.output[0]] = F.relu(ins[0])
            elif op == "Concat":
                axis = _attr(n, "axis")
                if all(isinstance(v, np.ndarray) for v in ins):
                    env[n.output[0]] = np.concatenate([np.atleast_1d(v) for v in ins], axis)
                else:
                    env[n.output[0]] = torch.cat([torch.as_tensor(v) for v in ins], axis)
            elif op == "Transpose":
                env[n.output[0]] = ins[0].permute(*_attr(n, "perm"))
            elif op == "Shape":
                env[n.output[0]] = np.array(ins[0].shape, np.int64)
            elif op == "Gather":
                env[n.output[0]] = np.take(ins[0], ins[1], axis=_attr(n, "axis", 0))
            elif op == "Unsqueeze":
                env[n.output[0]] = np.expand_dims(ins[0], tuple(_attr(n, "axes")))
            elif op == "Reshape":
                env[n.output[0]] = ins[0].reshape(*[int(v) for v in ins[1]])
            elif op == "Softmax":
                env[n.output[0]] = torch.softmax(ins[0], _attr(n, "axis"))
            elif op == "Slice":
                axes, starts, ends = _attr(n, "axes"), _attr(n, "starts"), _attr(n, "ends")
                v = ins[0]
                for a, s, e in zip(axes, starts, ends):
                    v = v.narrow(a, s, min(e, v.shape[a]) - s)
                env[n.output[0]] = v
            elif op in ("Mul", "Add", "Sub", "Div"):
                a, b = (torch.as_tensor(v) if isinstance(v, np.ndarray) else v for v in ins)
                env[n.output[0]] = {"Mul": torch.mul, "Add": torch.add, "Sub": torch.sub, "Div": torch.div}[op](a, b)
            elif op == "Exp":
                env[n.output[0]] = torch.exp(ins[0])
            else:
                raise ValueError(f"operator {op} ({n.name}) is not supported")
            if stop and self.logits_name in env and self.loc_name in env:
                return env[self.logits_name], env[self.loc_name]
        return env

    def forward(self, x):
        return self._run(x, stop=True)

    def decode(self, x):
        env = self._run(x, stop=False)
        return env["scores"], env["boxes"]

    def save(self, path):
        """The source graph with each Conv initializer replaced by its trained value."""
        m = onnx.ModelProto()
        m.CopyFrom(self.model)
        for t in m.graph.initializer:
            if t.name in self._key:
                arr = self.params[self._key[t.name]].detach().cpu().numpy().astype(np.float32)
                t.CopyFrom(nh.from_array(arr, t.name))
        onnx.checker.check_model(m)
        onnx.save(m, path)


def encode(gt_cxcywh, pri):
    """SSD encoding of matched boxes against their priors (the inverse of the graph's decoding)."""
    return torch.cat([(gt_cxcywh[..., :2] - pri[..., :2]) / pri[..., 2:] / CENTER_VARIANCE,
                      torch.log(gt_cxcywh[..., 2:] / pri[..., 2:]) / SIZE_VARIANCE], -1)
