"""FID and KID: streamed float64 statistics, agreement with torch-fidelity's own functions on the
same features, KID against a direct MMD² computation, and the cache of real features.

All on small seeded Gaussian feature sets (no network, no images).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_features_to_statistics, fid_statistics_to_metric
from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_features_to_metric

from deepi2i.metrics import RunningStats, frechet_distance, kernel_inception_distance, real_reference
from deepi2i.metrics.fid import per_class_means, reference_key

D = 32


@pytest.fixture(scope="module")
def features() -> tuple[np.ndarray, np.ndarray]:
    """Two float32 sets of different Gaussians: a [300, D] standard, b [250, D] correlated and shifted."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((300, D)).astype(np.float32)
    b = (rng.standard_normal((250, D)) @ rng.standard_normal((D, D)) * 0.3 + 0.5).astype(np.float32)
    return a, b


def torch_fidelity_fid(a: np.ndarray, b: np.ndarray, dtype: torch.dtype) -> float:
    """torch-fidelity's own path from raw features: np.mean / np.cov, then the TTUR formula."""
    sa = fid_features_to_statistics(torch.from_numpy(a).to(dtype))
    sb = fid_features_to_statistics(torch.from_numpy(b).to(dtype))
    return fid_statistics_to_metric(sa, sb, verbose=False)[KEY_METRIC_FID]


def mmd2_unbiased_poly(x: np.ndarray, y: np.ndarray) -> float:
    """MMD-GAN's unbiased MMD² with the kernel (x·y/d + 1)³: within-set means without the diagonal,
    the cross term over all m² pairs (equal-size sets)."""
    d = x.shape[1]

    def k(p: np.ndarray, q: np.ndarray) -> np.ndarray:
        return (p @ q.T / d + 1.0) ** 3

    off = ~np.eye(len(x), dtype=bool)
    return float(k(x, x)[off].mean() + k(y, y)[off].mean() - 2.0 * k(x, y).mean())


# ---- FID -------------------------------------------------------------------------------------


def test_fid_of_a_set_with_itself_is_zero(features):
    a, b = features
    assert abs(frechet_distance(RunningStats.of(a), RunningStats.of(a))) < 1e-8
    assert frechet_distance(RunningStats.of(a), RunningStats.of(b)) > 1.0


def test_streamed_statistics_equal_one_shot(features):
    a, _ = features
    streamed = RunningStats(D)
    for i in range(0, len(a), 7):  # 43 uneven batches, torch and numpy mixed
        chunk = a[i : i + 7]
        streamed.update(torch.from_numpy(chunk) if i % 2 else chunk)
    a64 = a.astype(np.float64)
    assert streamed.n == len(a)
    np.testing.assert_allclose(streamed.mean, a64.mean(axis=0), rtol=0, atol=1e-12)
    np.testing.assert_allclose(streamed.cov, np.cov(a64, rowvar=False), rtol=0, atol=1e-12)
    assert streamed.mean.dtype == streamed.cov.dtype == np.float64
    one_shot = RunningStats.of(a)
    reference = RunningStats.of(features[1])
    assert frechet_distance(streamed, reference) == pytest.approx(frechet_distance(one_shot, reference), rel=1e-10)


def test_fid_equals_torch_fidelity_on_the_same_features(features):
    a, b = features
    ours = frechet_distance(RunningStats.of(a), RunningStats.of(b))
    assert ours == pytest.approx(torch_fidelity_fid(a, b, torch.float64), rel=1e-9)
    # torch-fidelity on the float32 features (its float32 mean) still agrees to 1e-6
    assert ours == pytest.approx(torch_fidelity_fid(a, b, torch.float32), rel=1e-6)
    # and frechet_distance takes torch-fidelity's statistics dicts as they are
    sa = fid_features_to_statistics(torch.from_numpy(a).double())
    sb = fid_features_to_statistics(torch.from_numpy(b).double())
    assert frechet_distance(sa, sb) == pytest.approx(ours, rel=1e-9)
    assert frechet_distance(RunningStats.of(a), sb) == pytest.approx(ours, rel=1e-9)


def test_running_stats_rejects_wrong_shapes_and_single_samples():
    stats = RunningStats(4)
    with pytest.raises(ValueError, match=r"\[N, 4\]"):
        stats.update(np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"\[N, 4\]"):
        stats.update(np.zeros(4))
    stats.update(np.ones((1, 4)))
    with pytest.raises(ValueError, match="at least 2 samples"):
        _ = stats.cov


def test_per_class_mean_is_nan_when_any_class_is_nan():
    assert per_class_means([1.0, 3.0]) == 2.0
    assert np.isnan(per_class_means([1.0, float("nan")]))
    assert np.isnan(per_class_means([]))


# ---- KID -------------------------------------------------------------------------------------


def test_kid_equals_torch_fidelity_with_the_same_seed(features):
    a, b = features
    ours = kernel_inception_distance(a, b, subsets=10, subset_size=50, seed=3)
    theirs64 = kid_features_to_metric(
        torch.from_numpy(a).double(),
        torch.from_numpy(b).double(),
        kid_subsets=10,
        kid_subset_size=50,
        rng_seed=3,
        verbose=False,
    )
    theirs32 = kid_features_to_metric(
        torch.from_numpy(a),
        torch.from_numpy(b),
        kid_subsets=10,
        kid_subset_size=50,
        rng_seed=3,
        verbose=False,
    )
    assert (ours.subsets, ours.subset_size) == (10, 50)
    assert ours.mean == pytest.approx(theirs64[KEY_METRIC_KID_MEAN], rel=1e-12)
    assert ours.std == pytest.approx(theirs64[KEY_METRIC_KID_STD], rel=1e-12)
    assert ours.mean == pytest.approx(theirs32[KEY_METRIC_KID_MEAN], rel=1e-6)
    # the seed picks the subsets: another seed, another (but close) estimate
    other = kernel_inception_distance(a, b, subsets=10, subset_size=50, seed=4)
    assert other.mean != ours.mean
    assert other.mean == pytest.approx(ours.mean, rel=0.5)


def test_kid_on_whole_sets_is_the_exact_unbiased_mmd():
    """With subset_size == n every subset is a permutation of the whole set, so KID is exact."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((60, 16))
    y = rng.standard_normal((60, 16)) * 1.3 + 0.4
    kid = kernel_inception_distance(x, y, subsets=4, subset_size=60, seed=0)
    assert kid.mean == pytest.approx(mmd2_unbiased_poly(x, y), rel=1e-10)
    assert kid.std < 1e-12 * abs(kid.mean)


def test_kid_is_near_zero_for_one_distribution_and_positive_for_a_shift():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((200, D)), rng.standard_normal((200, D))
    shifted = rng.standard_normal((200, D)) + 0.5
    same = kernel_inception_distance(a, b, subsets=5, subset_size=200).mean
    apart = kernel_inception_distance(a, shifted, subsets=5, subset_size=200).mean
    assert apart > 0.5
    assert abs(same) < 0.02 * apart
    assert apart == pytest.approx(mmd2_unbiased_poly(a, shifted), rel=1e-10)


def test_kid_subset_size_shrinks_to_the_smaller_set_and_tiny_sets_fail():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((30, 8)), rng.standard_normal((70, 8))
    kid = kernel_inception_distance(a, b, subsets=3, subset_size=1000)
    assert kid.subset_size == 30
    with pytest.raises(ValueError, match="at least 2 samples"):
        kernel_inception_distance(a[:1], b)
    with pytest.raises(ValueError, match="at least 1 subset"):
        kernel_inception_distance(a, b, subsets=0)


# ---- real features cache -----------------------------------------------------------------------


def test_real_reference_is_cached_under_its_identity(tmp_path):
    x = torch.arange(6 * 3 * 4 * 4, dtype=torch.float32).reshape(6, 3, 4, 4)
    y = torch.tensor([0, 1, 0, 1, 1, 0])
    calls = []

    def extractor(batch: torch.Tensor) -> torch.Tensor:
        calls.append(len(batch))
        return batch.flatten(1)[:, :5]

    def batches():
        return [(x[:4], y[:4]), (x[4:], y[4:])]

    identity = {"manifest_sha256": "abc", "split": "train", "extractor": {"name": "toy"}}
    first = real_reference(batches, extractor, identity, tmp_path, 6, progress=False)
    assert not first.from_cache and calls == [4, 2]
    assert first.path is not None and first.path.is_file() and first.path.parent == tmp_path
    np.testing.assert_array_equal(first.features, x.flatten(1)[:, :5].numpy())
    np.testing.assert_array_equal(first.class_features(1), x.flatten(1)[y == 1, :5].numpy())
    assert first.class_stats(0).n == 3

    again = real_reference(batches, extractor, dict(identity), tmp_path, 6, progress=False)
    assert again.from_cache and calls == [4, 2]  # not recomputed
    assert again.key == first.key == reference_key(identity)
    np.testing.assert_array_equal(again.features, first.features)
    np.testing.assert_array_equal(again.labels, first.labels)

    other = real_reference(
        batches, extractor, {**identity, "extractor": {"name": "other"}}, tmp_path, 6, progress=False
    )
    assert not other.from_cache and other.key != first.key and calls == [4, 2, 4, 2]
    no_cache = real_reference(batches, extractor, identity, None, 6, progress=False)
    assert not no_cache.from_cache and no_cache.path is None
