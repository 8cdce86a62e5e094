import XCTest

@testable import Lamina

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Every activation, with defaults and with non-default hyper-parameters that move kinks or
/// scales, so each kernel branch is exercised.
let allActivations: [Activation] = [
  .identity, .relu, .leakyReLU(negativeSlope: 0.01), .leakyReLU(negativeSlope: 0.2),
  .prelu(initialSlope: 0.25), .prelu(initialSlope: -0.5), .elu(alpha: 1), .elu(alpha: 0.5),
  .selu, .celu(alpha: 1), .celu(alpha: 2), .gelu(approximate: .erf), .gelu(approximate: .tanh),
  .silu, .mish, .softplus(beta: 1, threshold: 20), .softplus(beta: 2, threshold: 20),
  .softplus(beta: 2, threshold: 4), .tanh, .sigmoid, .hardtanh(minVal: -1, maxVal: 1),
  .hardtanh(minVal: -2, maxVal: 3), .hardsigmoid, .hardswish, .softsign, .sine(omega0: 30),
  .sine(omega0: 1),
]

/// Uniform in [low, high) but more than 0.05 from every kink any activation here has
/// (0, +-1, +-2, +-3), far more than the finite-difference step.
func awayFromKinks(_ low: Double, _ high: Double)
  -> (Int, Int, inout RandomSource) -> Float
{
  return { _, _, rng in
    while true {
      let v = rng.uniform(low, high)
      if [-3.0, -2, -1, 0, 1, 2, 3].allSatisfy({ abs(v - $0) > 0.05 }) { return Float(v) }
    }
  }
}

/// Runs the layer's forward on one row.
private func forwardRow(_ layer: Layer, _ x: [Float]) -> [Float] {
  var y = [Float](repeating: .nan, count: x.count)
  x.withUnsafeBufferPointer { xp in
    y.withUnsafeMutableBufferPointer { yp in
      if let xb = xp.baseAddress, let yb = yp.baseAddress { layer.forward(xb, yb, count: 1) }
    }
  }
  return y
}

/// Runs the layer's backward on one row; returns dx.
private func backwardRow(
  _ layer: Layer, _ x: [Float], _ y: [Float], _ dy: [Float], parameterGradients: Bool = true
) -> [Float] {
  var dx = [Float](repeating: .nan, count: x.count)
  x.withUnsafeBufferPointer { xp in
    y.withUnsafeBufferPointer { yp in
      dy.withUnsafeBufferPointer { dyp in
        dx.withUnsafeMutableBufferPointer { dxp in
          guard let xb = xp.baseAddress, let yb = yp.baseAddress, let db = dyp.baseAddress
          else { return }
          layer.backward(
            xb, yb, db, dxp.baseAddress, count: 1, parameterGradients: parameterGradients)
        }
      }
    }
  }
  return dx
}

/// Parses spec text as a model would.
private func activation(_ text: String) throws -> Activation {
  try Activation.parse(JSONValue.parse(text), what: "test activation")
}

/// One row of PyTorch's values for an activation given by its spec text.
private struct Reference {
  let spec: String
  let x: [Float]
  let y: [Double]
  let dydx: [Double]
}

/// Values and derivatives from PyTorch 2.15 (float64 autograd at the Float inputs, printed
/// to 9 digits) by the script below, run in a throwaway venv with `pip install torch`.
/// Float32 PyTorch agrees with these to ~1e-7 relative except GELU's far negative tail, where
/// its 1 + erf(x/sqrt 2) cancels; Lamina uses erfc there and matches float64 instead.
/// Derivatives at kinks (0, +-1, +-3) are PyTorch's conventions, which Lamina copies.
///
///     import torch, torch.nn.functional as F
///     X = [-1e30, -1e4, -30, -5, -3, -2.5, -1, -0.5, -0.1, 0, 0.1, 0.5, 1, 2.5, 3, 5, 30,
///          1e4, 1e30]
///     S = [-0.5, -0.1, -0.03, 0, 0.02, 0.05, 0.1, 0.3, 1, -2]
///     cases = [
///       ('"identity"', lambda x: x, X),
///       ('"relu"', F.relu, X),
///       ('"leaky_relu"', lambda x: F.leaky_relu(x, 0.01), X),
///       ('{"name": "leaky_relu", "negative_slope": 0.2}', lambda x: F.leaky_relu(x, 0.2), X),
///       ('"prelu"', lambda x: F.prelu(x, torch.tensor([0.25], dtype=x.dtype)), X),
///       ('"elu"', F.elu, X),
///       ('{"name": "elu", "alpha": 0.5}', lambda x: F.elu(x, 0.5), X),
///       ('"selu"', F.selu, X),
///       ('"celu"', F.celu, X),
///       ('{"name": "celu", "alpha": 2}', lambda x: F.celu(x, 2.0), X),
///       ('"gelu"', F.gelu, X),
///       ('{"name": "gelu", "approximate": "tanh"}',
///        lambda x: F.gelu(x, approximate="tanh"), X),
///       ('"silu"', F.silu, X),
///       ('"swish"', F.silu, X),
///       ('"mish"', F.mish, X),
///       ('"softplus"', F.softplus, X),
///       ('{"name": "softplus", "beta": 2}', lambda x: F.softplus(x, beta=2), X),
///       ('{"name": "softplus", "beta": 0.5, "threshold": 5}',
///        lambda x: F.softplus(x, beta=0.5, threshold=5), X),
///       ('"tanh"', torch.tanh, X),
///       ('"sigmoid"', torch.sigmoid, X),
///       ('"hardtanh"', F.hardtanh, X),
///       ('{"name": "hardtanh", "min_val": -2, "max_val": 3}',
///        lambda x: F.hardtanh(x, -2.0, 3.0), X),
///       ('"hardsigmoid"', F.hardsigmoid, X),
///       ('"hardswish"', F.hardswish, X),
///       ('"softsign"', F.softsign, X),
///       ('"sine"', lambda x: torch.sin(30 * x), S),
///       ('{"name": "sine", "omega_0": 1}', lambda x: torch.sin(1 * x), X[1:-1]),
///     ]
///     lit = lambda v: (lambda s: s if any(c in s for c in "e.") else s + ".0")("%.9g" % v)
///     for spec, f, xs in cases:
///         x = torch.tensor(xs, dtype=torch.float32).double().requires_grad_(True)
///         y = f(x); y.sum().backward()
///         print(spec, [lit(v) for v in x.tolist()], [lit(v) for v in y.tolist()],
///               [lit(v) for v in x.grad.tolist()])
private let references: [Reference] = [
  Reference(
    spec: "\"identity\"",
    x: [
      -1.00000002e+30, -10000.0, -30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -0.100000001, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    y: [
      -1.00000002e+30, -10000.0, -30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -0.100000001, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    dydx: [
      1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
    ]),
  Reference(
    spec: "\"relu\"",
    x: [
      -1.00000002e+30, -10000.0, -30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -0.100000001, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    y: [
      0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0,
      10000.0, 1.00000002e+30,
    ],
    dydx: [
      0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
    ]),
  Reference(
    spec: "\"leaky_relu\"",
    x: [
      -1.00000002e+30, -10000.0, -30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -0.100000001, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    y: [
      -1.00000002e+28, -100.0, -0.3, -0.05, -0.03, -0.025, -0.01, -0.005, -0.00100000001, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    dydx: [
      0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
      1.0, 1.0,
    ]),
  Reference(
    spec: "{\"name\": \"leaky_relu\", \"negative_slope\": 0.2}",
    x: [
      -1.00000002e+30, -10000.0, -30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -0.100000001, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    y: [
      -2.00000003e+29, -2000.0, -6.0, -1.0, -0.6, -0.5, -0.2, -0.1, -0.0200000003, 0.0, 0.100000001,
      0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    dydx: [
      0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
    ]),
  Reference(
    spec: "\"prelu\"",
    x: [
      -1.00000002e+30, -10000.0, -30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -0.100000001, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    y: [
      -2.50000004e+29, -2500.0, -7.5, -1.25, -0.75, -0.625, -0.25, -0.125, -0.0250000004, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    dydx: [
      0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
      1.0, 1.0,
    ]),
  Reference(
    spec: "\"elu\"",
    x: [
      -1.00000002e+30, -10000.0, -30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -0.100000001, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    y: [
      -1.0, -1.0, -1.0, -0.993262053, -0.950212932, -0.917915001, -0.632120559, -0.39346934,
      -0.0951625833, 0.0, 0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    dydx: [
      0.0, 0.0, 9.35762297e-14, 0.006737947, 0.0497870684, 0.0820849986, 0.367879441, 0.60653066,
      0.904837417, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
    ]),
  Reference(
    spec: "{\"name\": \"elu\", \"alpha\": 0.5}",
    x: [
      -1.00000002e+30, -10000.0, -30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -0.100000001, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    y: [
      -0.5, -0.5, -0.5, -0.496631027, -0.475106466, -0.458957501, -0.316060279, -0.19673467,
      -0.0475812917, 0.0, 0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    dydx: [
      0.0, 0.0, 4.67881148e-14, 0.0033689735, 0.0248935342, 0.0410424993, 0.183939721, 0.30326533,
      0.452418708, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
    ]),
  Reference(
    spec: "\"selu\"",
    x: [
      -1.00000002e+30, -10000.0, -30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -0.100000001, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    y: [
      -1.75809934, -1.75809934, -1.75809934, -1.74625336, -1.67056873, -1.61378576, -1.11133074,
      -0.691758188, -0.167305275, 0.0, 0.1050701, 0.525350494, 1.05070099, 2.62675247, 3.15210296,
      5.25350494, 31.5210296, 10507.0099, 1.050701e+30,
    ],
    dydx: [
      0.0, 0.0, 1.64516308e-13, 0.0118459802, 0.0875306121, 0.144313582, 0.646768603, 1.06634115,
      1.59079407, 1.75809934, 1.05070099, 1.05070099, 1.05070099, 1.05070099, 1.05070099,
      1.05070099, 1.05070099, 1.05070099, 1.05070099,
    ]),
  Reference(
    spec: "\"celu\"",
    x: [
      -1.00000002e+30, -10000.0, -30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -0.100000001, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    y: [
      -1.0, -1.0, -1.0, -0.993262053, -0.950212932, -0.917915001, -0.632120559, -0.39346934,
      -0.0951625833, 0.0, 0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    dydx: [
      0.0, 0.0, 9.35762297e-14, 0.006737947, 0.0497870684, 0.0820849986, 0.367879441, 0.60653066,
      0.904837417, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
    ]),
  Reference(
    spec: "{\"name\": \"celu\", \"alpha\": 2}",
    x: [
      -1.00000002e+30, -10000.0, -30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -0.100000001, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    y: [
      -2.0, -2.0, -1.99999939, -1.83583, -1.55373968, -1.42699041, -0.786938681, -0.442398434,
      -0.0975411524, 0.0, 0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    dydx: [
      0.0, 0.0, 3.05902321e-07, 0.0820849986, 0.22313016, 0.286504797, 0.60653066, 0.778800783,
      0.951229424, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
    ]),
  Reference(
    spec: "\"gelu\"",
    x: [
      -1.00000002e+30, -10000.0, -30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -0.100000001, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    y: [
      -0.0, -0.0, -0.0, -1.43325786e-06, -0.00404969409, -0.0155241633, -0.158655254, -0.154268769,
      -0.0460172169, 0.0, 0.0539827846, 0.345731231, 0.841344746, 2.48447584, 2.99595031,
      4.99999857, 30.0, 10000.0, 1.00000002e+30,
    ],
    dydx: [
      0.0, 0.0, -4.4209384e-195, -7.146946e-06, -0.0119456472, -0.0376110859, -0.0833154706,
      0.132504875, 0.420476907, 0.5, 0.579523093, 0.867495125, 1.08331547, 1.03761109, 1.01194565,
      1.00000715, 1.0, 1.0, 1.0,
    ]),
  Reference(
    spec: "{\"name\": \"gelu\", \"approximate\": \"tanh\"}",
    x: [
      -1.00000002e+30, -10000.0, -30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -0.100000001, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    y: [
      -0.0, -0.0, -0.0, -2.2917962e-07, -0.00363739208, -0.0150842661, -0.158808009, -0.15428599,
      -0.0460172496, 0.0, 0.0539827519, 0.34571401, 0.841191991, 2.48491573, 2.99636261, 4.99999977,
      30.0, 10000.0, 1.00000002e+30,
    ],
    dydx: [
      0.0, 0.0, 0.0, -1.54636199e-06, -0.0115841666, -0.0379515762, -0.0829640838, 0.132630096,
      0.42047821, 0.5, 0.57952179, 0.867369904, 1.08296408, 1.03795158, 1.01158417, 1.00000155, 1.0,
      1.0, 1.0,
    ]),
  Reference(
    spec: "\"silu\"",
    x: [
      -1.00000002e+30, -10000.0, -30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -0.100000001, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    y: [
      -0.0, -0.0, -2.80728689e-12, -0.0334642546, -0.14227762, -0.18964545, -0.268941421,
      -0.188770334, -0.0475020819, 0.0, 0.0524979196, 0.311229666, 0.731058579, 2.31035455,
      2.85772238, 4.96653575, 30.0, 10000.0, 1.00000002e+30,
    ],
    dydx: [
      -0.0, -0.0, -2.71371066e-12, -0.0265474324, -0.088104106, -0.0994011113, 0.0723294881,
      0.260038813, 0.450083208, 0.5, 0.549916792, 0.739961187, 0.927670512, 1.09940111, 1.08810411,
      1.02654743, 1.0, 1.0, 1.0,
    ]),
  Reference(
    spec: "\"swish\"",
    x: [
      -1.00000002e+30, -10000.0, -30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -0.100000001, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    y: [
      -0.0, -0.0, -2.80728689e-12, -0.0334642546, -0.14227762, -0.18964545, -0.268941421,
      -0.188770334, -0.0475020819, 0.0, 0.0524979196, 0.311229666, 0.731058579, 2.31035455,
      2.85772238, 4.96653575, 30.0, 10000.0, 1.00000002e+30,
    ],
    dydx: [
      -0.0, -0.0, -2.71371066e-12, -0.0265474324, -0.088104106, -0.0994011113, 0.0723294881,
      0.260038813, 0.450083208, 0.5, 0.549916792, 0.739961187, 0.927670512, 1.09940111, 1.08810411,
      1.02654743, 1.0, 1.0, 1.0,
    ]),
  Reference(
    spec: "\"mish\"",
    x: [
      -1.00000002e+30, -10000.0, -30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -0.100000001, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    y: [
      -0.0, -0.0, -2.80728689e-12, -0.0335762377, -0.145647461, -0.196816204, -0.303401461,
      -0.220743775, -0.056788576, 0.0, 0.0631794185, 0.375245211, 0.865098388, 2.4713923, 2.986535,
      4.99955208, 30.0, 10000.0, 1.00000002e+30,
    ],
    dydx: [
      0.0, 0.0, -2.71371066e-12, -0.026747498, -0.0933931145, -0.109743573, 0.0592167559,
      0.289510678, 0.535702817, 0.6, 0.663336822, 0.886424375, 1.04903622, 1.04112953, 1.02110691,
      1.00080022, 1.0, 1.0, 1.0,
    ]),
  Reference(
    spec: "\"softplus\"",
    x: [
      -1.00000002e+30, -10000.0, -30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -0.100000001, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    y: [
      0.0, 0.0, 9.35762297e-14, 0.00671534849, 0.0485873516, 0.0788897343, 0.313261688, 0.474076984,
      0.644396659, 0.693147181, 0.744396661, 0.974076984, 1.31326169, 2.57888973, 3.04858735,
      5.00671535, 30.0, 10000.0, 1.00000002e+30,
    ],
    dydx: [
      0.0, 0.0, 9.35762297e-14, 0.00669285092, 0.0474258732, 0.07585818, 0.268941421, 0.377540669,
      0.475020812, 0.5, 0.524979188, 0.622459331, 0.731058579, 0.92414182, 0.952574127, 0.993307149,
      1.0, 1.0, 1.0,
    ]),
  Reference(
    spec: "{\"name\": \"softplus\", \"beta\": 2}",
    x: [
      -1.00000002e+30, -10000.0, -30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -0.100000001, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    y: [
      0.0, 0.0, 4.37825538e-27, 2.26994496e-05, 0.00123784257, 0.00335767424, 0.0634640055,
      0.156630844, 0.299069434, 0.34657359, 0.399069436, 0.656630844, 1.06346401, 2.50335767,
      3.00123784, 5.0000227, 30.0, 10000.0, 1.00000002e+30,
    ],
    dydx: [
      0.0, 0.0, 8.75651076e-27, 4.53978687e-05, 0.00247262316, 0.00669285092, 0.119202922,
      0.268941421, 0.450166002, 0.5, 0.549833998, 0.731058579, 0.880797078, 0.993307149,
      0.997527377, 0.999954602, 1.0, 1.0, 1.0,
    ]),
  Reference(
    spec: "{\"name\": \"softplus\", \"beta\": 0.5, \"threshold\": 5}",
    x: [
      -1.00000002e+30, -10000.0, -30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -0.100000001, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    y: [
      0.0, 0.0, 6.11804547e-07, 0.157779469, 0.402826556, 0.503858163, 0.948153968, 1.15187884,
      1.3369193, 1.38629436, 1.4369193, 1.65187884, 1.94815397, 3.00385816, 3.40282656, 5.15777947,
      30.0, 10000.0, 1.00000002e+30,
    ],
    dydx: [
      0.0, 0.0, 3.05902227e-07, 0.07585818, 0.182425524, 0.222700139, 0.377540669, 0.437823499,
      0.487502603, 0.5, 0.512497397, 0.562176501, 0.622459331, 0.777299861, 0.817574476, 0.92414182,
      1.0, 1.0, 1.0,
    ]),
  Reference(
    spec: "\"tanh\"",
    x: [
      -1.00000002e+30, -10000.0, -30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -0.100000001, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    y: [
      -1.0, -1.0, -1.0, -0.999909204, -0.995054754, -0.986614298, -0.761594156, -0.462117157,
      -0.0996679961, 0.0, 0.0996679961, 0.462117157, 0.761594156, 0.986614298, 0.995054754,
      0.999909204, 1.0, 1.0, 1.0,
    ],
    dydx: [
      0.0, 0.0, 0.0, 0.000181583231, 0.00986603717, 0.0265922267, 0.419974342, 0.786447733,
      0.990066291, 1.0, 0.990066291, 0.786447733, 0.419974342, 0.0265922267, 0.00986603717,
      0.000181583231, 0.0, 0.0, 0.0,
    ]),
  Reference(
    spec: "\"sigmoid\"",
    x: [
      -1.00000002e+30, -10000.0, -30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -0.100000001, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    y: [
      0.0, 0.0, 9.35762297e-14, 0.00669285092, 0.0474258732, 0.07585818, 0.268941421, 0.377540669,
      0.475020812, 0.5, 0.524979188, 0.622459331, 0.731058579, 0.92414182, 0.952574127, 0.993307149,
      1.0, 1.0, 1.0,
    ],
    dydx: [
      0.0, 0.0, 9.35762297e-14, 0.00664805667, 0.0451766597, 0.0701037165, 0.196611933, 0.235003712,
      0.24937604, 0.25, 0.24937604, 0.235003712, 0.196611933, 0.0701037165, 0.0451766597,
      0.00664805667, 9.34807787e-14, 0.0, 0.0,
    ]),
  Reference(
    spec: "\"hardtanh\"",
    x: [
      -1.00000002e+30, -10000.0, -30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -0.100000001, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    y: [
      -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -0.5, -0.100000001, 0.0, 0.100000001, 0.5, 1.0, 1.0,
      1.0, 1.0, 1.0, 1.0, 1.0,
    ],
    dydx: [
      0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    ]),
  Reference(
    spec: "{\"name\": \"hardtanh\", \"min_val\": -2, \"max_val\": 3}",
    x: [
      -1.00000002e+30, -10000.0, -30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -0.100000001, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    y: [
      -2.0, -2.0, -2.0, -2.0, -2.0, -2.0, -1.0, -0.5, -0.100000001, 0.0, 0.100000001, 0.5, 1.0, 2.5,
      3.0, 3.0, 3.0, 3.0, 3.0,
    ],
    dydx: [
      0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    ]),
  Reference(
    spec: "\"hardsigmoid\"",
    x: [
      -1.00000002e+30, -10000.0, -30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -0.100000001, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    y: [
      0.0, 0.0, 0.0, 0.0, 0.0, 0.0833333333, 0.333333333, 0.416666667, 0.483333333, 0.5,
      0.516666667, 0.583333333, 0.666666667, 0.916666667, 1.0, 1.0, 1.0, 1.0, 1.0,
    ],
    dydx: [
      0.0, 0.0, 0.0, 0.0, 0.0, 0.166666672, 0.166666672, 0.166666672, 0.166666672, 0.166666672,
      0.166666672, 0.166666672, 0.166666672, 0.166666672, 0.0, 0.0, 0.0, 0.0, 0.0,
    ]),
  Reference(
    spec: "\"hardswish\"",
    x: [
      -1.00000002e+30, -10000.0, -30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -0.100000001, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    y: [
      -0.0, -0.0, -0.0, -0.0, -0.0, -0.208333333, -0.333333333, -0.208333333, -0.048333334, 0.0,
      0.0516666675, 0.291666667, 0.666666667, 2.29166667, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    dydx: [
      0.0, 0.0, 0.0, 0.0, 0.0, -0.333333333, 0.166666667, 0.333333333, 0.466666666, 0.5,
      0.533333334, 0.666666667, 0.833333333, 1.33333333, 1.0, 1.0, 1.0, 1.0, 1.0,
    ]),
  Reference(
    spec: "\"softsign\"",
    x: [
      -1.00000002e+30, -10000.0, -30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -0.100000001, 0.0,
      0.100000001, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0, 10000.0, 1.00000002e+30,
    ],
    y: [
      -1.0, -0.99990001, -0.967741935, -0.833333333, -0.75, -0.714285714, -0.5, -0.333333333,
      -0.0909090921, 0.0, 0.0909090921, 0.333333333, 0.5, 0.714285714, 0.75, 0.833333333,
      0.967741935, 0.99990001, 1.0,
    ],
    dydx: [
      0.0, 9.9980003e-09, 0.00104058273, 0.0277777778, 0.0625, 0.0816326531, 0.25, 0.444444444,
      0.826446279, 1.0, 0.826446279, 0.444444444, 0.25, 0.0816326531, 0.0625, 0.0277777778,
      0.00104058273, 9.9980003e-09, 0.0,
    ]),
  Reference(
    spec: "\"sine\"",
    x: [
      -0.5, -0.100000001, -0.0299999993, 0.0, 0.0199999996, 0.0500000007, 0.100000001, 0.300000012,
      1.0, -2.0,
    ],
    y: [
      -0.65028784, -0.141119964, -0.783326897, 0.0, 0.564642462, 0.997494988, 0.141119964,
      0.412118159, -0.988031624, 0.304810621,
    ],
    dydx: [
      -22.7906374, -29.6997751, 18.6482995, 30.0, 24.7600687, 2.12211538, -29.6997751, -27.3339123,
      4.6275435, -28.5723894,
    ]),
  Reference(
    spec: "{\"name\": \"sine\", \"omega_0\": 1}",
    x: [
      -10000.0, -30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -0.100000001, 0.0, 0.100000001, 0.5, 1.0, 2.5,
      3.0, 5.0, 30.0, 10000.0,
    ],
    y: [
      0.305614389, 0.988031624, 0.958924275, -0.141120008, -0.598472144, -0.841470985, -0.479425539,
      -0.0998334181, 0.0, 0.0998334181, 0.479425539, 0.841470985, 0.598472144, 0.141120008,
      -0.958924275, -0.988031624, -0.305614389,
    ],
    dydx: [
      -0.952155368, 0.15425145, 0.283662185, -0.989992497, -0.801143616, 0.540302306, 0.877582562,
      0.995004165, 1.0, 0.995004165, 0.877582562, 0.540302306, -0.801143616, -0.989992497,
      0.283662185, 0.15425145, -0.952155368,
    ]),
]

/// y = w * x with one scalar weight, and switchable bugs, to show the gradient checker
/// catches each kind of mistake it claims to.
private final class ScaleLayer: Layer {
  enum Bug {
    case none, wrongInputGradient, wrongWeightGradient, overwritesGradient,
      writesGradientWhenForbidden, accumulatesDx, nondeterministic, sharesParameterOnCopy
  }
  let width: Int
  let bug: Bug
  let parameters: [Parameter]
  private var calls: Float = 0  // only the nondeterministic bug uses it

  init(width: Int, bug: Bug, weight: Parameter? = nil) {
    self.width = width
    self.bug = bug
    parameters = [weight ?? Parameter(name: "weight", shape: [1], value: [1.5])]
  }
  var inputDim: Int { width }
  var outputDim: Int { width }
  var spec: JSONValue { .object([("type", .string("scale"))]) }

  func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
    var w = parameters[0].value[0]
    if bug == .nondeterministic {
      calls += 1
      w += calls * 1e-3
    }
    for i in 0..<(n * width) { y[i] = w * x[i] }
  }

  func backward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, count n: Int, parameterGradients: Bool
  ) {
    let w = parameters[0].value[0]
    if let dx {
      for i in 0..<(n * width) {
        let g = (bug == .wrongInputGradient ? 1.1 * w : w) * dy[i]
        dx[i] = bug == .accumulatesDx ? dx[i] + g : g
      }
    }
    guard parameterGradients || bug == .writesGradientWhenForbidden else { return }
    var sum: Float = 0
    for i in 0..<(n * width) { sum += x[i] * dy[i] }
    if bug == .wrongWeightGradient { sum = -sum }
    if bug == .overwritesGradient {
      parameters[0].gradient[0] = sum
    } else {
      parameters[0].gradient[0] += sum
    }
  }

  func copy() -> Layer {
    ScaleLayer(
      width: width, bug: bug,
      weight: bug == .sharesParameterOnCopy ? parameters[0] : parameters[0].copy())
  }
}

final class ActivationTests: XCTestCase {
  /// Forward values and derivatives agree with PyTorch's, including at +-1e30 and at kinks.
  func testMatchesPyTorchValuesAndDerivatives() throws {
    XCTAssertEqual(references.count, 27)
    for reference in references {
      let act = try activation(reference.spec)
      let layer = ActivationLayer(width: reference.x.count, activation: act)
      let y = forwardRow(layer, reference.x)
      let dx = backwardRow(layer, reference.x, y, [Float](repeating: 1, count: reference.x.count))
      for i in reference.x.indices {
        // A few Float ulps, plus a floor far below anything that matters after rounding.
        let yTolerance = 1e-6 * abs(reference.y[i]) + 1e-30
        XCTAssertEqual(
          Double(y[i]), reference.y[i], accuracy: yTolerance,
          "\(reference.spec) at x = \(reference.x[i]): Lamina \(y[i]) vs PyTorch \(reference.y[i])")
        // PyTorch's own float64 tanh' and sigmoid' are 1 - y^2 and y (1 - y), exact only to
        // ~1e-16 absolute (tanh'(30) = 4e^-60 comes out 0); Lamina's are accurate in the tails.
        let dTolerance = 1e-6 * abs(reference.dydx[i]) + 1e-15
        XCTAssertEqual(
          Double(dx[i]), reference.dydx[i], accuracy: dTolerance,
          "\(reference.spec) f'(\(reference.x[i])): Lamina \(dx[i]) vs PyTorch \(reference.dydx[i])"
        )
      }
    }
    // The table covers every canonical name.
    let tested = Set(try references.map { try activation($0.spec).name })
    XCTAssertEqual(tested, Set(Activation.knownNames).subtracting(["swish"]))
  }

  /// Textbook values at single points, independent of the PyTorch table.
  func testAnalyticSpotValues() throws {
    let cases: [(String, Float, Double)] = [
      ("\"gelu\"", 1, 0.841_344_746_068_542_9),  // 1 * Phi(1)
      ("{\"name\": \"gelu\", \"approximate\": \"tanh\"}", 1, 0.841_191_990_607_477_4),
      ("\"mish\"", 1, 0.865_098_388_202_553_5),  // tanh(ln(1 + e))
      ("\"softplus\"", 0, log(2.0)),
      ("{\"name\": \"softplus\", \"beta\": 2}", 0, log(2.0) / 2),
      ("\"hardswish\"", 1, 2.0 / 3.0),
      ("\"hardsigmoid\"", 0, 0.5),
      ("\"selu\"", 1, 1.050_700_987_355_480_5),
      ("\"selu\"", -1, 1.050_700_987_355_480_5 * 1.673_263_242_354_377_3 * (exp(-1.0) - 1)),
      ("\"silu\"", 1, 1 / (1 + exp(-1.0))),
      ("\"sigmoid\"", 0, 0.5),
      ("\"tanh\"", 0.5, tanh(0.5)),
      ("\"softsign\"", 1, 0.5),
      ("\"elu\"", -1, exp(-1.0) - 1),
      ("{\"name\": \"celu\", \"alpha\": 2}", -1, 2 * (exp(-0.5) - 1)),
      ("{\"name\": \"leaky_relu\", \"negative_slope\": 0.2}", -2, -0.4),
      ("{\"name\": \"hardtanh\", \"min_val\": -2, \"max_val\": 3}", 5, 3),
      ("{\"name\": \"hardtanh\", \"min_val\": -2, \"max_val\": 3}", -5, -2),
      ("\"sine\"", 0.01, sin(0.3)),
      ("\"prelu\"", -2, -0.5),
    ]
    for (spec, x, expected) in cases {
      let layer = ActivationLayer(width: 1, activation: try activation(spec))
      let y = forwardRow(layer, [x])[0]
      XCTAssertEqual(
        Double(y), expected, accuracy: 2e-7 * max(1, abs(expected)), "\(spec) at \(x)")
    }
    XCTAssertEqual(Activation.seluAlpha, 1.6732632423543772848170429916717)
    XCTAssertEqual(Activation.seluScale, 1.0507009873554804934193349852946)
  }

  /// Backward of every activation, defaults and variants, against finite differences.
  func testGradientCheckEveryActivation() {
    for act in allActivations {
      let layer = ActivationLayer(width: 4, activation: act)
      // SIREN inputs are small (omega_0 = 30 turns [-0.2, 0.2] into about one period each way).
      let (low, high) = act == .sine(omega0: 30) ? (-0.2, 0.2) : (-4.0, 4.0)
      assertGradientsCorrect(
        of: layer, label: act.spec.text, batch: 6, input: awayFromKinks(low, high))
    }
  }

  /// The checker is only useful if it fails on broken layers: each bug must be reported.
  func testGradientCheckCatchesBrokenLayers() {
    let input = awayFromKinks(-2, 2)
    let correct = checkGradients(
      of: ScaleLayer(width: 3, bug: .none), label: "ok", batch: 4, input: input)
    XCTAssertEqual(correct.failures, [])
    XCTAssertEqual(correct.checkedEntries, 13)  // 12 inputs and 1 weight
    XCTAssertLessThan(correct.worstRatio, 0.1)
    let expectations: [(ScaleLayer.Bug, String)] = [
      (.wrongInputGradient, "dL/dx[row 0, column 0]"),
      (.wrongWeightGradient, "dL/dweight[0]"),
      (.overwritesGradient, "backward must add"),
      (.writesGradientWhenForbidden, "backward(parameterGradients: false) changed the gradient"),
      (.accumulatesDx, "not written, or not finite"),
      (.nondeterministic, "forward is not deterministic"),
      (.sharesParameterOnCopy, "copy() shares parameter \"weight\""),
    ]
    for (bug, phrase) in expectations {
      let result = checkGradients(
        of: ScaleLayer(width: 3, bug: bug), label: "\(bug)", batch: 4, input: input)
      XCTAssertTrue(
        result.failures.contains { $0.contains(phrase) },
        "\(bug): expected a failure containing \"\(phrase)\", got \(result.failures)")
    }
  }

  /// Softplus, sigmoid, mish and the rest stay finite, value and derivative, at extremes.
  func testExtremeInputsStayFinite() {
    let big = Float.greatestFiniteMagnitude
    let x: [Float] = [
      -big, -1e30, -1e4, -100, -89, -88.7, -20, -1e-30, -1e-45, 0, 1e-45, 1e-30, 20, 88.7, 89,
      100, 1e4, 1e30, big,
    ]
    for act in allActivations {
      // sin(omega_0 * x) needs omega_0 * x finite; SIREN inputs are coordinates anyway.
      let inputs = act.name == "sine" ? x.filter { abs($0) <= 1e30 } : x
      let layer = ActivationLayer(width: inputs.count, activation: act)
      let y = forwardRow(layer, inputs)
      let dx = backwardRow(layer, inputs, y, [Float](repeating: 1, count: inputs.count))
      for i in inputs.indices {
        // At Float's largest values only SELU (scale > 1) may overflow, and only to inf.
        let valueMayOverflow = abs(inputs[i]) == big && act == .selu
        XCTAssertTrue(
          y[i].isFinite || (valueMayOverflow && y[i].isInfinite),
          "\(act.spec.text) at \(inputs[i]) gave \(y[i])")
        XCTAssertTrue(dx[i].isFinite, "\(act.spec.text)' at \(inputs[i]) gave \(dx[i])")
      }
    }
    let softplus = ActivationLayer(width: 4, activation: .softplus(beta: 1, threshold: 1e6))
    // Even with the identity cut-off disabled, the stable form neither overflows nor loses x.
    XCTAssertEqual(forwardRow(softplus, [-1e30, 1e30, 1000, -1000]), [0, 1e30, 1000, 0])
  }

  /// A NaN going in comes out as NaN (no activation hides it), so non-finite checks
  /// downstream still see a diverged network.
  func testNaNPropagates() {
    for act in allActivations {
      let y = forwardRow(ActivationLayer(width: 1, activation: act), [.nan])
      XCTAssertTrue(y[0].isNaN, "\(act.spec.text) turned NaN into \(y[0])")
    }
  }

  /// The eight-lane ReLU forward gives, bit for bit, what `max(x, 0)` does on every lane and
  /// in the tail: NaN kept, -0 to +0, infinities, subnormals, and x aliasing y.
  func testReLUForwardLanesMatchScalarMax() {
    let specials: [Float] = [
      .nan, -0.0, 0, .infinity, -.infinity, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
      -1.5, 2.25, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
    ]
    for count in [1, 7, 8, 9, 16, 21, 33] {
      let x = (0..<count).map { specials[($0 * 5 + count) % specials.count] }
      let expected = x.map { max($0, 0).bitPattern }
      var y = [Float](repeating: 7, count: count)
      x.withUnsafeBufferPointer { xb in
        y.withUnsafeMutableBufferPointer { yb in
          Activation.relu.forward(xb.baseAddress!, yb.baseAddress!, count: count)
        }
      }
      XCTAssertEqual(y.map(\.bitPattern), expected, "count \(count)")
      var inPlace = x
      inPlace.withUnsafeMutableBufferPointer { b in
        Activation.relu.forward(b.baseAddress!, b.baseAddress!, count: count)
      }
      XCTAssertEqual(inPlace.map(\.bitPattern), expected, "in place, count \(count)")
    }
  }

  /// Every activation reads back from its spec, as a value and as JSON text.
  func testSpecRoundTrip() throws {
    for act in allActivations {
      XCTAssertEqual(try Activation.parse(act.spec, what: "spec"), act, act.spec.text)
      XCTAssertEqual(try activation(act.spec.text), act, act.spec.text)
      XCTAssertEqual(act.spec["name"], .string(act.name))
      XCTAssertEqual(act.isLearnable, act.name == "prelu")
    }
    // allActivations covers every name, so new names cannot skip these tests.
    XCTAssertEqual(
      Set(allActivations.map(\.name)), Set(Activation.knownNames).subtracting(["swish"]))
  }

  /// The short form fills in PyTorch's defaults; the full form reads as documented.
  func testDefaultsAndSpecText() throws {
    let expected: [(String, String)] = [
      ("\"identity\"", "{\"name\": \"identity\"}"),
      ("\"leaky_relu\"", "{\"name\": \"leaky_relu\", \"negative_slope\": 0.01}"),
      ("\"prelu\"", "{\"name\": \"prelu\", \"init\": 0.25}"),
      ("\"elu\"", "{\"name\": \"elu\", \"alpha\": 1}"),
      ("\"celu\"", "{\"name\": \"celu\", \"alpha\": 1}"),
      ("\"gelu\"", "{\"name\": \"gelu\", \"approximate\": \"none\"}"),
      ("\"swish\"", "{\"name\": \"silu\"}"),
      ("\"softplus\"", "{\"name\": \"softplus\", \"beta\": 1, \"threshold\": 20}"),
      ("\"hardtanh\"", "{\"name\": \"hardtanh\", \"min_val\": -1, \"max_val\": 1}"),
      ("\"sine\"", "{\"name\": \"sine\", \"omega_0\": 30}"),
      ("{\"name\": \"sine\", \"omega_0\": 1.5}", "{\"name\": \"sine\", \"omega_0\": 1.5}"),
      (
        "{\"name\": \"gelu\", \"approximate\": null}",
        "{\"name\": \"gelu\", \"approximate\": \"none\"}"
      ),
    ]
    for (input, output) in expected {
      XCTAssertEqual(try activation(input).spec.text, output, input)
    }
    XCTAssertEqual(
      ActivationLayer(width: 3, activation: .softplus(beta: 2, threshold: 20)).spec.text,
      "{\"type\": \"activation\", \"name\": \"softplus\", \"beta\": 2, \"threshold\": 20}")
    XCTAssertEqual(
      ActivationLayer(width: 3, activation: .relu).spec.text,
      "{\"type\": \"activation\", \"name\": \"relu\"}")
  }

  /// Bad specs are refused with .invalidArgument and a message naming the problem.
  func testParseErrors() {
    let cases: [(String, String)] = [
      ("\"rectifier\"", "unknown activation \"rectifier\" (known: identity, relu,"),
      ("\"ReLU\"", "unknown activation \"ReLU\""),
      ("{\"name\": \"relu\", \"alpha\": 1}", "unknown key \"alpha\""),
      (
        "{\"name\": \"elu\", \"alph\": 1}", "unknown key \"alph\" (known keys: \"alpha\", \"name\")"
      ),
      ("{\"name\": \"elu\", \"alpha\": \"big\"}", "\"alpha\" must be a number, not a string"),
      ("{\"name\": \"elu\", \"alpha\": -1}", "\"alpha\" is -1.0"),
      ("{\"name\": \"celu\", \"alpha\": -1}", "\"alpha\" is -1.0"),
      ("{\"name\": \"celu\", \"alpha\": 0}", "\"alpha\" is 0.0"),
      ("{\"name\": \"softplus\", \"beta\": 0}", "\"beta\" is 0.0"),
      ("{\"name\": \"softplus\", \"threshold\": -5}", "\"threshold\" is -5.0"),
      ("{\"name\": \"sine\", \"omega_0\": 0}", "\"omega_0\" is 0.0"),
      ("{\"name\": \"leaky_relu\", \"negative_slope\": 1e7}", "\"negative_slope\" is 10000000.0"),
      ("{\"name\": \"leaky_relu\", \"negative_slope\": true}", "must be a number, not a boolean"),
      ("{\"name\": \"hardtanh\", \"min_val\": 2, \"max_val\": 1}", "must be less than \"max_val\""),
      ("{\"name\": \"hardtanh\", \"min_val\": 1, \"max_val\": 1}", "must be less than \"max_val\""),
      ("{\"name\": \"gelu\", \"approximate\": \"fast\"}", "it must be \"none\" or \"tanh\""),
      ("{\"name\": \"gelu\", \"approximate\": 1}", "\"approximate\" must be a string"),
      ("{\"name\": 3}", "\"name\" must be a string, not a number"),
      ("{}", "missing required key \"name\""),
      ("{\"alpha\": 1}", "missing required key \"name\""),
      ("3", "must be an activation name or an object with a \"name\", not a number"),
      ("[\"relu\"]", "not an array"),
      ("null", "not null"),
    ]
    for (text, fragment) in cases {
      do {
        let parsed = try activation(text)
        XCTFail("\(text) parsed as \(parsed)")
      } catch let error as LaminaError {
        XCTAssertEqual(error.code, .invalidArgument, text)
        XCTAssertTrue(error.message.contains(fragment), "\(text): \"\(error.message)\"")
        XCTAssertTrue(error.message.hasPrefix("test activation"), "\(text): \"\(error.message)\"")
      } catch {
        XCTFail("\(text) threw \(error), not a LaminaError")
      }
    }
    // The documented limits themselves are accepted.
    XCTAssertEqual(
      try activation("{\"name\": \"leaky_relu\", \"negative_slope\": -1e6}"),
      .leakyReLU(negativeSlope: -1e6))
    XCTAssertEqual(try activation("{\"name\": \"elu\", \"alpha\": 0}"), .elu(alpha: 0))
    XCTAssertEqual(
      try activation("{\"name\": \"softplus\", \"beta\": 1e-6}"),
      .softplus(beta: 1e-6, threshold: 20))
  }

  /// A sequential layer object carries "type" beside the activation's keys: the shared-reader
  /// entry point reads only its own keys and leaves unknown-key checking to the caller.
  func testParseFromSharedReader() throws {
    let value = try JSONValue.parse(
      "{\"type\": \"activation\", \"name\": \"elu\", \"alpha\": 0.5}")
    let reader = try JSONObjectReader(value, what: "layer 1")
    XCTAssertEqual(try reader.string("type"), "activation")
    XCTAssertEqual(try Activation.parse(from: reader), .elu(alpha: 0.5))
    XCTAssertNoThrow(try reader.finish())

    let extra = try JSONObjectReader(
      JSONValue.parse("{\"type\": \"activation\", \"name\": \"relu\", \"units\": 3}"),
      what: "layer 2")
    _ = try extra.string("type")
    XCTAssertEqual(try Activation.parse(from: extra), .relu)
    XCTAssertThrowsError(try extra.finish()) { error in
      XCTAssertEqual((error as? LaminaError)?.code, .invalidArgument)
      XCTAssertTrue(String(describing: error).contains("layer 2: unknown key \"units\""))
    }
    // The object form through parse() still rejects "type": it is the layer's key, not ours.
    XCTAssertThrowsError(
      try activation("{\"type\": \"activation\", \"name\": \"relu\"}"))
  }

  /// PReLU owns one "weight" of shape [1] like torch.nn.PReLU, uses its current value, and
  /// accumulates its gradient only when asked.
  func testPReLUParameter() throws {
    let layer = ActivationLayer(
      width: 3, activation: try activation("{\"name\": \"prelu\", \"init\": -0.5}"))
    XCTAssertEqual(layer.parameters.count, 1)
    let weight = try XCTUnwrap(layer.parameters.first)
    XCTAssertEqual(weight.name, "weight")
    XCTAssertEqual(weight.shape, [1])
    XCTAssertEqual(weight.value, [-0.5])
    XCTAssertEqual(weight.gradient, [0])

    weight.value = [0.5]  // as after training or lamina_model_tensor_write
    let x: [Float] = [-2, 3, -1]
    let y = forwardRow(layer, x)
    XCTAssertEqual(y, [-1, 3, -0.5])
    // The spec keeps the starting slope, not the learned one.
    XCTAssertEqual(
      layer.spec.text, "{\"type\": \"activation\", \"name\": \"prelu\", \"init\": -0.5}")

    let dy: [Float] = [1, 1, 2]
    let dx = backwardRow(layer, x, y, dy)
    XCTAssertEqual(dx, [0.5, 1, 1])
    XCTAssertEqual(weight.gradient, [-4])  // -2 * 1 + -1 * 2; x > 0 contributes nothing
    _ = backwardRow(layer, x, y, dy)
    XCTAssertEqual(weight.gradient, [-8], "gradients accumulate")
    XCTAssertEqual(backwardRow(layer, x, y, dy, parameterGradients: false), [0.5, 1, 1])
    XCTAssertEqual(weight.gradient, [-8], "parameterGradients: false leaves the gradient alone")

    let twin = layer.copy()
    twin.parameters[0].value = [2]
    XCTAssertEqual(weight.value, [0.5], "the copy owns its slope")
    XCTAssertEqual(forwardRow(twin, x), [-4, 3, -2])

    // Gradient check with a learned slope away from the initial one, slope included.
    weight.value = [-0.3]
    assertGradientsCorrect(
      of: layer, label: "prelu slope -0.3", batch: 5, input: awayFromKinks(-3, 3))

    for act in allActivations where act.name != "prelu" {
      XCTAssertTrue(ActivationLayer(width: 2, activation: act).parameters.isEmpty, act.name)
    }
  }

  /// Shapes, and that a layer with no rows touches nothing.
  func testShapesAndEmptyBatch() {
    let layer = ActivationLayer(width: 7, activation: .tanh)
    XCTAssertEqual(layer.width, 7)
    XCTAssertEqual(layer.inputDim, 7)
    XCTAssertEqual(layer.outputDim, 7)
    XCTAssertEqual(layer.activation, .tanh)
    var y: [Float] = [42]
    let x: [Float] = [1]
    x.withUnsafeBufferPointer { xp in
      y.withUnsafeMutableBufferPointer { yp in
        layer.forward(xp.baseAddress!, yp.baseAddress!, count: 0)
        layer.backward(
          xp.baseAddress!, xp.baseAddress!, xp.baseAddress!, yp.baseAddress!, count: 0,
          parameterGradients: true)
      }
    }
    XCTAssertEqual(y, [42])
  }

  /// The kernels may run in place (y over x, dx over dy), as documented.
  func testKernelsInPlace() {
    var rng = RandomSource(seed: 9)
    let x = (0..<64).map { _ in Float(rng.uniform(-5, 5)) }
    let dy = (0..<64).map { _ in Float(rng.uniform(-1, 1)) }
    for act in allActivations {
      var y = [Float](repeating: 0, count: 64)
      var dx = [Float](repeating: 0, count: 64)
      var inPlaceY = x
      var inPlaceDx = dy
      x.withUnsafeBufferPointer { xp in
        y.withUnsafeMutableBufferPointer {
          act.forward(xp.baseAddress!, $0.baseAddress!, count: 64, slope: 0.1)
        }
      }
      inPlaceY.withUnsafeMutableBufferPointer {
        act.forward($0.baseAddress!, $0.baseAddress!, count: 64, slope: 0.1)
      }
      XCTAssertEqual(inPlaceY, y, act.name)
      x.withUnsafeBufferPointer { xp in
        y.withUnsafeBufferPointer { yp in
          dy.withUnsafeBufferPointer { dyp in
            dx.withUnsafeMutableBufferPointer {
              act.backward(
                xp.baseAddress!, yp.baseAddress!, dyp.baseAddress!, $0.baseAddress!, count: 64,
                slope: 0.1)
            }
          }
          inPlaceDx.withUnsafeMutableBufferPointer {
            act.backward(
              xp.baseAddress!, yp.baseAddress!, $0.baseAddress!, $0.baseAddress!, count: 64,
              slope: 0.1)
          }
        }
      }
      XCTAssertEqual(inPlaceDx, dx, act.name)
    }
  }
}
