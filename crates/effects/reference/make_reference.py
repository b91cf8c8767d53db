#!/usr/bin/env python3
"""Writes the fixtures the interpreter and mask tests compare against.

* tests/fixtures/astronaut_256.ppm: NASA's public-domain portrait of Eileen
  Collins (`skimage/data/astronaut.png` from the scikit-image wheel), scaled
  from 512x512 to 256x256 with Pillow's Lanczos filter.
* tests/fixtures/reference_mask.f32: the raw model output (1x144x256x1,
  little-endian f32) that MediaPipe's own runtime (InferenceCalculator, the
  TFLite CPU kernels plus MediaPipe's custom-op resolver) computes for rows
  REF_TOP..REF_TOP+144 of that photo. The Rust test feeds the very same
  pixels (u8 / 255) to our interpreter.

Usage: python make_reference.py path/to/selfie_segmentation_landscape.tflite
(needs mediapipe==0.10.21, scikit-image and Pillow).
"""

import os
import sys

import numpy as np
from PIL import Image

import mediapipe as mp
from mediapipe.python._framework_bindings import calculator_graph
from mediapipe.python import packet_creator, packet_getter
from mediapipe.framework import calculator_pb2
from google.protobuf import text_format

# Importing these registers the calculator option extensions the graph text uses.
from mediapipe.calculators.tensor import image_to_tensor_calculator_pb2  # noqa: F401
from mediapipe.calculators.tensor import inference_calculator_pb2  # noqa: F401
from mediapipe.calculators.tflite import tflite_custom_op_resolver_calculator_pb2  # noqa: F401

REF_TOP = 16
W, H = 256, 144
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "tests", "fixtures")

GRAPH = """
input_stream: "image"
output_stream: "output_tensors"
output_stream: "in_floats"
output_stream: "out_floats"
node {
  calculator: "ImageToTensorCalculator"
  input_stream: "IMAGE:image"
  output_stream: "TENSORS:input_tensors"
  options {
    [mediapipe.ImageToTensorCalculatorOptions.ext] {
      output_tensor_width: 256
      output_tensor_height: 144
      keep_aspect_ratio: false
      output_tensor_float_range { min: 0.0 max: 1.0 }
      border_mode: BORDER_ZERO
    }
  }
}
node {
  calculator: "TfLiteCustomOpResolverCalculator"
  output_side_packet: "OP_RESOLVER:op_resolver"
  options {
    [mediapipe.TfLiteCustomOpResolverCalculatorOptions.ext] { use_gpu: false }
  }
}
node {
  calculator: "InferenceCalculator"
  input_stream: "TENSORS:input_tensors"
  output_stream: "TENSORS:output_tensors"
  input_side_packet: "OP_RESOLVER:op_resolver"
  options {
    [mediapipe.InferenceCalculatorOptions.ext] {
      model_path: "%s"
      delegate { %s }
    }
  }
}
node {
  calculator: "TensorsToFloatsCalculator"
  input_stream: "TENSORS:input_tensors"
  output_stream: "FLOATS:in_floats"
}
node {
  calculator: "TensorsToFloatsCalculator"
  input_stream: "TENSORS:output_tensors"
  output_stream: "FLOATS:out_floats"
}
"""


class RawSegmenter:
    """MediaPipe graph: RGB image (scaled to 256x144 by ImageToTensor) ->
    (input tensor, raw model output)."""

    def __init__(self, model_path, delegate="tflite {}", copy_out=True):
        """copy_out=False skips converting the tensors to Python lists (for
        timing the runtime itself rather than that conversion)."""
        config = calculator_pb2.CalculatorGraphConfig()
        graph = GRAPH % (os.path.abspath(model_path), delegate)
        if not copy_out:
            graph = graph[: graph.index('node {\n  calculator: "TensorsToFloatsCalculator"')]
            graph = graph.replace('output_stream: "in_floats"\n', "").replace('output_stream: "out_floats"\n', "")
        text_format.Parse(graph, config)
        self.graph = calculator_graph.CalculatorGraph(graph_config=config)
        self.results = {}
        self.copy_out = copy_out
        if copy_out:
            for name in ("in_floats", "out_floats"):
                self.graph.observe_output_stream(
                    name, lambda stream, packet: self.results.__setitem__(stream, packet_getter.get_float_list(packet))
                )
        else:
            self.graph.observe_output_stream("output_tensors", lambda stream, packet: None)
        self.graph.start_run()
        self.ts = 0

    def run(self, rgb):
        assert rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.dtype == np.uint8
        frame = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        self.graph.add_packet_to_input_stream("image", packet_creator.create_image(frame).at(self.ts))
        self.ts += 1
        self.graph.wait_until_idle()
        if not self.copy_out:
            return None
        return (np.array(self.results["in_floats"], np.float32), np.array(self.results["out_floats"], np.float32))

    def close(self):
        self.graph.close()


def write_ppm(path, rgb):
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (rgb.shape[1], rgb.shape[0]))
        f.write(rgb.tobytes())


def read_ppm(path):
    data = open(path, "rb").read()
    parts = data.split(maxsplit=4)
    assert parts[0] == b"P6"
    w, h = int(parts[1]), int(parts[2])
    return np.frombuffer(parts[4][: w * h * 3], np.uint8).reshape(h, w, 3)


def main():
    model_path = sys.argv[1]
    import skimage

    photo_path = os.path.join(FIXTURES, "astronaut_256.ppm")
    src = Image.open(os.path.join(os.path.dirname(skimage.__file__), "data", "astronaut.png")).convert("RGB")
    write_ppm(photo_path, np.asarray(src.resize((256, 256), Image.LANCZOS)))
    photo = read_ppm(photo_path)

    crop = photo[REF_TOP : REF_TOP + H]
    seg = RawSegmenter(model_path)
    tensor, mask = seg.run(crop)
    seg.close()
    # The Rust test rebuilds the input as u8 / 255; make sure that is exactly
    # what MediaPipe fed the model.
    expected = crop.astype(np.float32).reshape(-1) / np.float32(255.0)
    print("input tensor max |diff| vs u8/255:", float(np.abs(tensor - expected).max()))
    assert mask.size == W * H, mask.size
    mask.astype("<f4").tofile(os.path.join(FIXTURES, "reference_mask.f32"))
    print("mask min/mean/max:", mask.min(), mask.mean(), mask.max())


if __name__ == "__main__":
    main()
