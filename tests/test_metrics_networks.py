"""The networks behind the metrics, offline: where weights come from, torch-fidelity's Inception on
a random-weight file, the RC/FC classifier on trivially separable images, and LPIPS with a local
trunk. Every network is built with sockets disabled, so a download attempt fails the test.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import torchvision
from torch.utils.data import TensorDataset

from deepi2i.metrics import (
    INCEPTION_WEIGHTS,
    ClassifierConfig,
    ClassifierExtractor,
    ImageClassifier,
    InceptionExtractor,
    accuracy,
    available_extractors,
    create_extractor,
    predict,
    register_extractor,
    resolve_weights,
    sha256_file,
    train_classifier,
)
from deepi2i.metrics.diversity import LPIPSMetric, mean_pairwise_lpips
from deepi2i.metrics.extractors import _REGISTRY, FeatureExtractor

COLOURS = torch.tensor([[220, 30, 30], [30, 200, 40], [40, 50, 220]])


pytestmark = pytest.mark.usefixtures("one_thread")


@contextlib.contextmanager
def offline() -> Iterator[None]:
    """No network: any connection (a weights download) raises."""

    def refuse(*args, **kwargs):
        raise AssertionError("tried to use the network (a download?)")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", refuse)
        mp.setattr(torch.hub, "download_url_to_file", refuse)
        mp.setattr(torch.hub, "load_state_dict_from_url", refuse)
        yield


def colour_images(n: int, resolution: int, seed: int) -> TensorDataset:
    """uint8 images whose class is their colour (red, green, blue) plus per-pixel noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    x = COLOURS[y][:, :, None, None] + torch.randint(-30, 31, (n, 3, resolution, resolution), generator=g)
    return TensorDataset(x.clamp(0, 255).to(torch.uint8), y)


# ---- weights resolution ---------------------------------------------------------------------------


@pytest.fixture
def empty_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No weights anywhere: no env var, and torch's hub cache is an empty folder."""
    monkeypatch.delenv(INCEPTION_WEIGHTS.env, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    return tmp_path / "torch" / "hub"


def test_no_inception_weights_anywhere_names_the_env_var_and_never_downloads(empty_hub):
    with offline(), pytest.raises(FileNotFoundError) as err:
        create_extractor("inception")
    msg = str(err.value)
    assert "DEEPI2I_INCEPTION_WEIGHTS" in msg and "--inception-weights" in msg
    assert INCEPTION_WEIGHTS.filename in msg and "never downloads" in msg
    assert str(empty_hub / "checkpoints") in msg


def test_weights_come_from_the_argument_then_the_env_var_then_the_hub_cache(empty_hub, tmp_path, monkeypatch):
    cached = empty_hub / "checkpoints" / INCEPTION_WEIGHTS.filename
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"cached")
    assert resolve_weights(INCEPTION_WEIGHTS) == cached
    by_env = tmp_path / "env.pth"
    by_env.write_bytes(b"env")
    monkeypatch.setenv(INCEPTION_WEIGHTS.env, str(by_env))
    assert resolve_weights(INCEPTION_WEIGHTS) == by_env
    given = tmp_path / "given.pth"
    given.write_bytes(b"given")
    assert resolve_weights(INCEPTION_WEIGHTS, given) == given


def test_a_missing_weights_path_is_an_error_even_when_the_cache_has_the_file(empty_hub, tmp_path, monkeypatch):
    cached = empty_hub / "checkpoints" / INCEPTION_WEIGHTS.filename
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"cached")
    with pytest.raises(FileNotFoundError, match=r"--inception-weights not found: .*typo\.pth"):
        InceptionExtractor(tmp_path / "typo.pth")
    monkeypatch.setenv(INCEPTION_WEIGHTS.env, str(tmp_path / "env-typo.pth"))
    with pytest.raises(FileNotFoundError, match=r"\$DEEPI2I_INCEPTION_WEIGHTS not found: .*env-typo\.pth"):
        resolve_weights(INCEPTION_WEIGHTS)


def test_sha256_file_is_the_sha256_of_the_bytes(tmp_path):
    f = tmp_path / "w.bin"
    f.write_bytes(b"x" * 3_000_000)
    assert sha256_file(f) == hashlib.sha256(b"x" * 3_000_000).hexdigest()


# ---- torch-fidelity Inception ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def inception_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """torch-fidelity's Inception-v3 state_dict with seeded random weights (its loading skipped once)."""
    import torch_fidelity.feature_extractor_inceptionv3 as tf_inception

    cls = tf_inception.FeatureExtractorInceptionV3
    with offline(), pytest.MonkeyPatch.context() as mp:
        mp.setattr(tf_inception, "load_state_dict_from_url", lambda *a, **k: {})
        mp.setattr(cls, "load_state_dict", lambda self, state, *a, **k: None)
        torch.manual_seed(0)
        net = cls("inception-v3-compat", ["2048"])
    path = tmp_path_factory.mktemp("inception") / INCEPTION_WEIGHTS.filename
    torch.save(net.state_dict(), path)
    return path


def test_inception_extractor_runs_torch_fidelity_on_a_local_weights_file(inception_file):
    with offline():
        extractor = create_extractor("inception", weights=inception_file)
    assert isinstance(extractor, InceptionExtractor)
    saved = torch.load(inception_file, weights_only=True)
    loaded = extractor.net.state_dict()
    assert set(loaded) == set(saved)
    assert torch.equal(loaded["Conv2d_1a_3x3.conv.weight"], saved["Conv2d_1a_3x3.conv.weight"])
    assert torch.equal(loaded["Mixed_7c.branch_pool.conv.weight"], saved["Mixed_7c.branch_pool.conv.weight"])

    x = torch.randint(0, 256, (2, 3, 32, 32), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    f = extractor(x)
    assert f.shape == (2, 2048) and f.dtype == torch.float32
    assert torch.isfinite(f).all() and not torch.equal(f[0], f[1])
    d = extractor.describe()
    assert d["name"] == "inception-v3-compat" and d["dim"] == 2048
    assert d["weights_sha256"] == hashlib.sha256(inception_file.read_bytes()).hexdigest()
    assert d["weights_file"] == INCEPTION_WEIGHTS.filename
    with pytest.raises(TypeError, match="uint8"):
        extractor(x.float())


@pytest.mark.parametrize("content", ["wrong keys", "not a pickle"])
def test_inception_rejects_a_file_that_is_not_its_weights(tmp_path, content):
    path = tmp_path / "bad.pth"
    if content == "wrong keys":
        torch.save({"conv.weight": torch.zeros(1)}, path)
    else:
        path.write_text("<html>404 Not Found</html>")
    with offline(), pytest.raises(ValueError, match="is not torch-fidelity's Inception-v3 weights"):
        create_extractor("inception", weights=path)


def test_unknown_extractor_lists_the_available_ones():
    assert {"inception", "classifier"} <= set(available_extractors())
    with pytest.raises(ValueError, match="unknown feature extractor 'nope'; available: classifier, inception"):
        create_extractor("nope")


def test_registered_extractors_are_created_by_name():
    class Mean(FeatureExtractor):
        name, dim = "mean", 3

        def forward(self, x):
            return x.float().mean(dim=(2, 3))

    register_extractor("test-mean")(Mean)
    try:
        extractor = create_extractor("test-mean")
        assert "test-mean" in available_extractors()
        assert extractor(torch.full((2, 3, 4, 4), 7, dtype=torch.uint8)).tolist() == [[7.0] * 3] * 2
        assert extractor.describe() == {"name": "mean", "dim": 3, "weights_sha256": None}
    finally:
        _REGISTRY.pop("test-mean")


# ---- RC / FC classifier ---------------------------------------------------------------------------

CLASSIFIER = ClassifierConfig(backbone="small", epochs=2, batch_size=8, seed=0)


@pytest.fixture(scope="module")
def colour_classifier() -> ImageClassifier:
    return train_classifier(colour_images(24, 16, seed=0), 3, CLASSIFIER, progress=False)


def test_classifier_learns_separable_classes(colour_classifier):
    preds, labels = predict(colour_classifier, colour_images(30, 16, seed=1), batch_size=16)
    overall, recall = accuracy(preds, labels, 3)
    assert overall >= 0.95 and min(recall) >= 0.9
    assert colour_classifier.features(colour_images(4, 16, seed=2).tensors[0]).shape == (4, 256)


def test_classifier_training_is_seeded(colour_classifier):
    data = colour_images(24, 16, seed=0)
    again = train_classifier(data, 3, CLASSIFIER, progress=False)
    for (k, a), b in zip(colour_classifier.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    other = train_classifier(data, 3, ClassifierConfig(epochs=2, batch_size=8, seed=1), progress=False)
    assert not torch.equal(other.fc.weight, colour_classifier.fc.weight)


def test_saved_classifier_loads_as_the_same_network_and_extractor(colour_classifier, tmp_path):
    path = colour_classifier.save(tmp_path / "sub" / "rc.pt")
    x = colour_images(6, 16, seed=3).tensors[0]
    loaded = ImageClassifier.load(path)
    assert torch.equal(loaded(x), colour_classifier(x))
    extractor = ClassifierExtractor(weights=path)
    assert extractor.weights_sha256 == sha256_file(path)
    assert extractor.describe() == {
        "name": "classifier-small",
        "dim": 256,
        "weights_sha256": sha256_file(path),
    }
    f, logits = extractor.features_and_logits(x)
    assert torch.equal(f, extractor(x)) and torch.equal(logits, colour_classifier(x))
    with pytest.raises(ValueError, match="exactly one of"):
        ClassifierExtractor()
    with pytest.raises(ValueError, match="exactly one of"):
        ClassifierExtractor(colour_classifier, weights=path)
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a classifier saved by deepi2i evaluate"):
        ImageClassifier.load(tmp_path / "other.pt")


def test_accuracy_gives_overall_and_per_class_recall():
    preds = torch.tensor([0, 0, 1, 1, 1, 0])
    labels = torch.tensor([0, 0, 1, 0, 1, 1])
    overall, recall = accuracy(preds, labels, 3)
    assert overall == pytest.approx(4 / 6)
    assert recall[:2] == pytest.approx([2 / 3, 2 / 3])
    assert recall[2] != recall[2]  # NaN: no examples of class 2


@pytest.mark.parametrize(
    "bad",
    [{"backbone": "vgg"}, {"epochs": 0}, {"batch_size": 1}, {"lr": 0.0}, {"input_size": 4}],
)
def test_classifier_config_rejects_invalid_settings(bad):
    with pytest.raises(ValueError):
        ClassifierConfig(**bad)


def test_classifier_init_weights_must_exist_and_fit(tmp_path):
    with pytest.raises(FileNotFoundError, match="initial weights"):
        ClassifierConfig(init_weights=str(tmp_path / "missing.pth"))
    wrong = tmp_path / "wrong.pth"
    torch.save({"conv.weight": torch.zeros(2)}, wrong)
    with pytest.raises(ValueError, match="does not fit a small backbone"):
        train_classifier(colour_images(4, 16, 0), 3, ClassifierConfig(init_weights=str(wrong)), progress=False)


# ---- LPIPS -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def alex_trunk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """torchvision AlexNet `features.*` entries with seeded random weights (what LPIPS' trunk needs)."""
    torch.manual_seed(0)
    state = {
        k: v for k, v in torchvision.models.alexnet(weights=None).state_dict().items() if k.startswith("features.")
    }
    path = tmp_path_factory.mktemp("lpips") / "alexnet-features.pth"
    torch.save(state, path)
    return path


@pytest.fixture(scope="module")
def lpips_metric(alex_trunk: Path) -> LPIPSMetric:
    with offline():
        return LPIPSMetric("alex", alex_trunk)


def images(n: int, seed: int) -> torch.Tensor:
    return torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_lpips_is_zero_for_identical_images_and_positive_otherwise(lpips_metric):
    a, b = images(3, 0), images(3, 1)
    assert lpips_metric(a, a).tolist() == [0.0, 0.0, 0.0]
    d = lpips_metric(a, b)
    assert d.shape == (3,) and (d > 0).all()
    assert torch.allclose(lpips_metric(b, a), d, atol=1e-6)


def test_lpips_trunk_comes_from_the_file_and_heads_from_the_package(lpips_metric, alex_trunk):
    saved = torch.load(alex_trunk, weights_only=True)
    net = lpips_metric.lpips.net
    assert torch.equal(net.slice1[0].weight, saved["features.0.weight"])
    assert torch.equal(net.state_dict()["slice5.10.weight"], saved["features.10.weight"])
    info = lpips_metric.info
    assert info["net"] == "alex" and info["version"] == "0.1"
    assert info["trunk_sha256"] == sha256_file(alex_trunk) and info["trunk_file"] == alex_trunk.name
    assert len(info["heads_sha256"]) == 64


def test_mean_pairwise_lpips_averages_every_pair_per_input(lpips_metric):
    samples = images(3 * 2, 2).view(3, 2, 3, 32, 32)  # 3 samples of 2 inputs
    mean = mean_pairwise_lpips(lpips_metric, samples)
    assert mean.shape == (2,)
    pairs = [lpips_metric(samples[i], samples[j]) for i, j in ((0, 1), (0, 2), (1, 2))]
    assert torch.allclose(mean, torch.stack(pairs).mean(dim=0), atol=1e-6)
    same = samples[:1].expand(4, -1, -1, -1, -1)
    assert mean_pairwise_lpips(lpips_metric, same).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="at least 2 samples"):
        mean_pairwise_lpips(lpips_metric, samples[:1])


def test_lpips_rejects_a_trunk_file_with_wrong_keys_and_unknown_nets(tmp_path):
    wrong = tmp_path / "wrong.pth"
    torch.save({"features.0.weight": torch.zeros(3, 3, 3, 3)}, wrong)
    with offline(), pytest.raises(ValueError, match="not a torchvision state_dict for this LPIPS trunk"):
        LPIPSMetric("alex", wrong)
    with pytest.raises(ValueError, match="unknown LPIPS network 'squeeze'"):
        LPIPSMetric("squeeze", wrong)
