"""Tests of the region sampler's reference and its export. Run with Debian's python3-torch:

    /usr/bin/python3 -m unittest discover -s triton/region-sampler -v
"""

import pathlib
import subprocess
import sys
import tempfile
import unittest

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from ferret_region_sampler import (  # noqa: E402
    CHECKPOINT_PREFIX, RegionSampler, SamplerConfig, farthest_point_sample, knn, point_features)

HERE = pathlib.Path(__file__).resolve().parent

# the sampler's parameters as a Ferret checkpoint names them (ml-ferret's apply_delta.py lists them)
FERRET_NAMES = sorted(
    [f"{CHECKPOINT_PREFIX}{p}.{i}.{w}" for p in ("diff_projector_list",) for i in (0, 1)
     for w in ("weight", "bias")]
    + [f"{CHECKPOINT_PREFIX}agg_projector_list.{i}.{m}.{w}" for i in (0, 1)
       for m in ("net.0", "norm") for w in ("weight", "bias")]
    + [f"{CHECKPOINT_PREFIX}{p}.{w}" for p in ("flatten_projector", "dim_projector")
       for w in ("weight", "bias")])


def column_map(h, w, d=1):
    """A map whose every channel holds the column index: reads give the x position directly."""
    return torch.arange(w, dtype=torch.float32).view(1, 1, w, 1).expand(1, h, w, d).contiguous()


def inputs(config, seed=1, h=5, w=7):
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(1, h, w, config.input_dim, generator=g).to(torch.float16)
    points = torch.rand(1, config.num_points, 2, generator=g)
    return features, points, torch.tensor([3])


class PointFeatures(unittest.TestCase):
    def test_bilinear_with_corners_aligned(self):
        # 5 columns: x = 0 is column 0, x = 1 column 4, x = 0.375 halfway between 1 and 2
        got = point_features(column_map(3, 5), torch.tensor([[[0.0, 0.5], [1.0, 0.5], [0.375, 0.5]]]),
                             transpose_quirk=False)
        self.assertEqual(got.flatten().tolist(), [0.0, 4.0, 1.5])

    def test_the_v1_quirk_reads_the_column_at_the_y_fraction(self):
        point = torch.tensor([[[0.25, 0.75]]])  # x = 0.25, y = 0.75 on a 5 x 5 map
        natural = point_features(column_map(5, 5), point, transpose_quirk=False)
        quirk = point_features(column_map(5, 5), point, transpose_quirk=True)
        self.assertEqual(natural.item(), 1.0)  # column 0.25 * 4
        self.assertEqual(quirk.item(), 3.0)  # column 0.75 * 4

    def test_the_quirk_equals_natural_reading_of_swapped_coordinates(self):
        features, points, _ = inputs(SamplerConfig.tiny())
        self.assertTrue(torch.equal(point_features(features, points, True),
                                    point_features(features, points.flip(-1), False)))


class Sampling(unittest.TestCase):
    def test_farthest_point_sampling_starts_at_the_given_index_and_takes_the_first_of_ties(self):
        xy = torch.tensor([[0.5, 0.5], [0.0, 0.0], [1.0, 1.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
        picked = farthest_point_sample(xy, 4, torch.tensor(0)).tolist()
        # from the centre every corner is as far: the first (1); then the opposite corner's first
        # copy (2, not 3); then (4) before (5), equally far from both
        self.assertEqual(picked, [0, 1, 2, 4])

    def test_knn_includes_the_anchor_and_breaks_ties_by_index(self):
        xy = torch.tensor([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [0.1, 0.0], [0.5, 0.5]])
        self.assertEqual(knn(xy, xy[:1], 4).tolist(), [[0, 1, 2, 3]])

    def test_duplicated_points_give_a_defined_answer(self):
        # a tiny region: fusion repeats its few points to fill 512; ties everywhere
        config = SamplerConfig.tiny()
        sampler = RegionSampler(config).init_random(1).eval()
        features, _, start = inputs(config)
        points = torch.tensor([[0.2, 0.3], [0.21, 0.3], [0.2, 0.31]]).repeat(22, 1)[:64].unsqueeze(0)
        with torch.no_grad():
            a = sampler(features, points, start)
            b = sampler(features, points.clone(), start.clone())
        self.assertTrue(torch.isfinite(a).all())
        self.assertTrue(torch.equal(a, b))


class Sampler(unittest.TestCase):
    def test_real_shapes(self):
        config = SamplerConfig.real()
        self.assertEqual((config.input_dim, config.output_dim, config.num_points), (1024, 4096, 512))
        self.assertEqual((config.num_sub_points, config.num_neighbors), ((128, 32), (24, 24)))
        sampler = RegionSampler(config)
        self.assertEqual(tuple(sampler.flatten_projector.weight.shape), (1024, 32 * 1024))
        self.assertEqual(tuple(sampler.dim_projector.weight.shape), (4096, 1024))
        self.assertEqual(tuple(sampler.agg_projector_list[0].net[0].weight.shape), (1024, 2052, 1))

    def test_deterministic_given_its_inputs_and_the_start_index_matters(self):
        config = SamplerConfig.tiny()
        sampler = RegionSampler(config).init_random(5).eval()
        features, points, start = inputs(config)
        with torch.no_grad():
            first = sampler(features, points, start)
            again = sampler(features, points, start)
            other = sampler(features, points, torch.tensor([40]))
        self.assertEqual(tuple(first.shape), (1, config.output_dim))
        self.assertTrue(torch.equal(first, again))
        self.assertFalse(torch.equal(first, other))

    def test_quirk_on_and_off_read_different_features(self):
        features, points, start = inputs(SamplerConfig.tiny())
        off = RegionSampler(SamplerConfig.tiny()).init_random(5).eval()
        on = RegionSampler(SamplerConfig.tiny(transpose_quirk=True))
        on.load_state_dict(off.state_dict())
        with torch.no_grad():
            self.assertFalse(torch.allclose(off(features, points, start), on.eval()(features, points, start)))

    def test_mean_pooling(self):
        config = SamplerConfig.tiny(pooler="mean")
        sampler = RegionSampler(config).init_random(5).eval()
        with torch.no_grad():
            self.assertEqual(tuple(sampler(*inputs(config)).shape), (1, config.output_dim))
        with self.assertRaises(ValueError):
            RegionSampler(SamplerConfig.tiny(pooler="sum"))


class Weights(unittest.TestCase):
    def test_parameter_names_are_the_checkpoints(self):
        names = sorted(CHECKPOINT_PREFIX + n for n in RegionSampler(SamplerConfig.tiny()).state_dict())
        self.assertEqual(names, FERRET_NAMES)

    def test_loads_a_checkpoints_state_dict_and_refuses_one_that_does_not_fit(self):
        source = RegionSampler(SamplerConfig.tiny()).init_random(9)
        checkpoint = {CHECKPOINT_PREFIX + k: v for k, v in source.state_dict().items()}
        checkpoint["model.layers.0.mlp.weight"] = torch.zeros(1)  # the rest of the model is ignored
        target = RegionSampler(SamplerConfig.tiny())
        target.load_ferret_state_dict(checkpoint)
        for k, v in source.state_dict().items():
            self.assertTrue(torch.equal(target.state_dict()[k], v), k)
        del checkpoint[CHECKPOINT_PREFIX + "dim_projector.bias"]
        with self.assertRaises(KeyError):
            RegionSampler(SamplerConfig.tiny()).load_ferret_state_dict(checkpoint)

    def test_random_init_is_reproducible(self):
        a = RegionSampler(SamplerConfig.tiny()).init_random(3).state_dict()
        b = RegionSampler(SamplerConfig.tiny()).init_random(3).state_dict()
        self.assertTrue(all(torch.equal(a[k], b[k]) for k in a))


class Export(unittest.TestCase):
    def test_exports_the_contract(self):
        import onnx

        with tempfile.TemporaryDirectory() as tmp:
            out = pathlib.Path(tmp) / "model.onnx"
            subprocess.run([sys.executable, str(HERE / "export_onnx.py"), "--tiny", "--out", str(out)],
                           check=True, capture_output=True)
            model = onnx.load(str(out))
        onnx.checker.check_model(model)
        shapes = {v.name: (v.type.tensor_type.elem_type,
                           [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim])
                  for v in list(model.graph.input) + list(model.graph.output)}
        fp16, fp32, int64 = onnx.TensorProto.FLOAT16, onnx.TensorProto.FLOAT, onnx.TensorProto.INT64
        self.assertEqual(shapes, {
            "features": (fp16, [1, "h", "w", 16]),
            "points": (fp32, [1, 64, 2]),
            "fps_start": (int64, [1]),
            "region_feature": (fp16, [1, 24]),
        })
        ops = {n.op_type for n in model.graph.node}
        self.assertIn("GridSample", ops)
        self.assertNotIn("TopK", ops)  # ties are broken by ArgMin/ArgMax, first index, as in torch
        self.assertNotIn("RandomUniform", ops)


if __name__ == "__main__":
    unittest.main()
