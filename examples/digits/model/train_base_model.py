"""Train the digits base model: a tiny int8 CNN for scikit-learn's 8x8 handwritten digits.

Not run in CI: its outputs are committed. Run it with TensorFlow in a separate environment:

    python -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow-cpu==2.21.0 scikit-learn
    /tmp/tfvenv/bin/python examples/digits/model/train_base_model.py

Writes, next to this file:

- ``digits_cnn.tflite``: full-int8 post-training quantized model (int8 input and output). Input
  [1, 8, 8, 1] holds the pixel values scaled to [0, 1] (scikit-learn's 0..16 divided by 16),
  quantized with the input tensor's scale and zero point; output [1, 10] softmax probabilities.
- ``split.json``: the seed and the indices (into ``sklearn.datasets.load_digits()``) of the
  train and test images used, so on-device experiments can hold out exactly the same test set.

The network (a few thousand parameters, tens of thousands of MACs per image, so that training it
on a Cortex-M in emulation is quick): conv 3x3x8 ReLU, depthwise 3x3 ReLU, conv 1x1x16 ReLU,
2x2 max pool, conv 3x3x24 ReLU, global average pool (MEAN), dense 10, softmax. The script stops
with an error if the int8 model's test accuracy is below 95 %.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

HERE = Path(__file__).resolve().parent
SEED = 1797
TEST_FRACTION = 0.25
MIN_ACCURACY = 0.95


def build_model() -> tf.keras.Model:
    layers = tf.keras.layers
    x = layers.Input((8, 8, 1), name="pixels")
    y = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(x)
    y = layers.DepthwiseConv2D(3, padding="same", activation="relu", name="dw2")(y)
    y = layers.Conv2D(16, 1, activation="relu", name="pw2")(y)
    y = layers.MaxPooling2D(2, name="pool")(y)
    y = layers.Conv2D(24, 3, padding="same", activation="relu", name="conv3")(y)
    y = layers.GlobalAveragePooling2D(name="gap")(y)
    y = layers.Dense(10, name="logits")(y)
    y = layers.Softmax(name="probabilities")(y)
    return tf.keras.Model(x, y, name="digits_cnn")


def quantize(model: tf.keras.Model, calibration: np.ndarray) -> bytes:
    def representative():
        for image in calibration:
            yield [image[None]]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter._experimental_disable_per_channel_quantization_for_dense_layers = False
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def int8_accuracy(blob: bytes, images: np.ndarray, labels: np.ndarray) -> float:
    interpreter = tf.lite.Interpreter(
        model_content=blob, experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF
    )
    interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]
    target = interpreter.get_output_details()[0]
    scale, zero_point = source["quantization"]
    correct = 0
    for image, label in zip(images, labels, strict=True):
        q = np.clip(np.round(image[None] / scale) + zero_point, -128, 127).astype(np.int8)
        interpreter.set_tensor(source["index"], q)
        interpreter.invoke()
        correct += int(np.argmax(interpreter.get_tensor(target["index"])[0]) == label)
    return correct / len(labels)


def main() -> None:
    tf.keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., None]
    labels = digits.target.astype(np.int64)
    indices = np.arange(len(labels))
    train_idx, test_idx = train_test_split(
        indices, test_size=TEST_FRACTION, random_state=SEED, stratify=labels
    )
    train_idx, test_idx = np.sort(train_idx), np.sort(test_idx)

    model = build_model()
    steps = 120 * int(np.ceil(len(train_idx) / 32))
    model.compile(
        optimizer=tf.keras.optimizers.Adam(tf.keras.optimizers.schedules.CosineDecay(5e-3, steps)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(images[train_idx], labels[train_idx], batch_size=32, epochs=120, verbose=0, shuffle=True)
    _, float_accuracy = model.evaluate(images[test_idx], labels[test_idx], verbose=0)

    blob = quantize(model, images[train_idx][:300])
    accuracy = int8_accuracy(blob, images[test_idx], labels[test_idx])
    params = model.count_params()
    print(f"parameters {params}; test accuracy float {float_accuracy:.4f}, int8 {accuracy:.4f}; "
          f"{len(blob)} bytes")
    if accuracy < MIN_ACCURACY:
        raise SystemExit(f"int8 test accuracy {accuracy:.4f} is below {MIN_ACCURACY}")

    (HERE / "digits_cnn.tflite").write_bytes(blob)
    split = {
        "dataset": "sklearn.datasets.load_digits",
        "preprocessing": "images / 16.0, shape [8, 8, 1]",
        "seed": SEED,
        "test_fraction": TEST_FRACTION,
        "int8_test_accuracy": round(accuracy, 4),
        "train": train_idx.tolist(),
        "test": test_idx.tolist(),
    }
    (HERE / "split.json").write_text(json.dumps(split) + "\n")


if __name__ == "__main__":
    main()
