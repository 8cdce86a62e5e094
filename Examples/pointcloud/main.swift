// Fit a torus's signed distance from an oriented point cloud (points and normals sampled
// from its mesh, no distances) with `Model.fitPoints`, and print IoU, the mean normal
// angle and the Chamfer distance against the true torus, with steps and seconds:
//
//     swift run -c release lamina-pointcloud-fit [triplane|mlp|sine|<spec>] [steps] [unsigned]
//         [lr=<rate>] [surface=<w>] [normal=<w>] [eikonal=<w>] [far=<w>] [metric=l2|cosine]
//         [schedule=constant|cosine] [batch=<n>] [sigma=<s>]
//
// The figures of bench/NOTES.md ("Fitting an oriented point cloud") come from this program.
import Foundation
import Lamina

let arguments = CommandLine.arguments
let kind = arguments.count > 1 ? arguments[1] : "triplane"
let steps = arguments.count > 2 ? Int(arguments[2]) ?? 1000 : 1000
let unsigned = arguments.contains("unsigned")
let torus = Shape.torus(center: .zero, major: 0.5, minor: 0.2)

/// The model each kind fits: the tri-plane field of bench/plane_rate.py (64 x 64 x 16
/// planes, a 64-wide ReLU decoder), a softplus MLP (beta 100, as IGR) or a SIREN.
let specs = [
  "triplane":
    #"{"kind": "triplane", "resolution": 64, "channels": 16, "decoder": {"hidden": [64]}, "seed": 0}"#,
  "mlp":
    #"{"kind": "mlp", "input": 3, "hidden": [64, 64, 64], "output": 1, "activation": {"name": "softplus", "beta": 100}, "seed": 0}"#,
  "sine":
    #"{"kind": "mlp", "input": 3, "hidden": [64, 64, 64], "output": 1, "activation": {"name": "sine", "omega_0": 30}, "seed": 0}"#,
]

do {
  let reference = try MarchingCubes.extract(
    resolution: (192, 192, 192), lower: SIMD3(repeating: -1), upper: SIMD3(repeating: 1),
    evaluate: { torus.sdf($0, $1, into: $2) })
  var rng = RandomSource(seed: 1)
  let cloud = try reference.sampleSurface(count: 100_000, rng: &rng)
  let normals = cloud.triangles.flatMap { t -> [Float] in
    let v = reference.triangleNormal(t)
    return [v.x, v.y, v.z]
  }
  let model = try Model(json: specs[kind] ?? kind)
  var options = PointCloudFitOptions()
  options.steps = steps
  for argument in arguments.dropFirst(3) {
    let pair = argument.split(separator: "=", maxSplits: 1).map(String.init)
    guard pair.count == 2 else { continue }
    let (key, value) = (pair[0], pair[1])
    switch key {
    case "lr": options.trainer.learningRate = Double(value)!
    case "surface": options.surfaceWeight = Double(value)!
    case "normal": options.normalWeight = Double(value)!
    case "eikonal": options.eikonalWeight = Double(value)!
    case "far": options.farWeight = Double(value)!
    case "metric": options.normalMetric = value
    case "schedule": options.trainer.schedule = ScheduleKind(rawValue: value)!
    case "batch": (options.surfaceBatch, options.spaceBatch) = (Int(value)!, Int(value)!)
    case "sigma": options.sigma = Double(value)!
    default: print("unknown option \(key)")
    }
  }
  let start = Date()
  let history = try model.fitPoints(
    points: cloud.points, normals: unsigned ? nil : normals, options: options)
  let seconds = Date().timeIntervalSince(start)
  print(
    String(
      format: "%@: %d steps in %.1f s, final loss %.5f", kind, steps, seconds, history.totals.last!)
  )

  // Uniform test points: IoU by sign (signed fits), or the unsigned error near the surface.
  var test = RandomSource(seed: 99)
  let n = 200_000
  let x = (0..<(3 * n)).map { _ in Float(test.uniform(-1, 1)) }
  let predicted = try model.predict(x)
  var truth = [Float](repeating: 0, count: n)
  x.withUnsafeBufferPointer { torus.sdf($0.baseAddress!, n, into: &truth) }
  if unsigned {
    var (error, near) = (0.0, 0)
    for i in 0..<n where abs(truth[i]) < 0.1 {
      error += Double(abs(predicted[i] - abs(truth[i])))
      near += 1
    }
    let shell = try model.extractMesh(resolution: 128, level: 0.005)
    let chamfer = try MeshComparison(shell, reference, samples: 50_000).chamfer
    print(
      String(
        format:
          "unsigned: mean |f - d| within 0.1 of the surface %.4f, Chamfer of the 0.005 shell %.2e",
        error / Double(near), chamfer))
  } else {
    var (both, either) = (0, 0)
    for i in 0..<n {
      both += predicted[i] < 0 && truth[i] < 0 ? 1 : 0
      either += predicted[i] < 0 || truth[i] < 0 ? 1 : 0
    }
    let m = 50_000
    var surface = RandomSource(seed: 98)
    let on = try reference.sampleSurface(count: m, rng: &surface).points
    var g = [Float](repeating: 0, count: 3 * m)
    try model.inputGradient(on, count: m, into: &g)
    var exact = [Float](repeating: 0, count: 3 * m)
    on.withUnsafeBufferPointer { torus.gradient($0.baseAddress!, m, into: &exact) }
    var angle = 0.0
    for i in 0..<m {
      let a = SIMD3<Double>(Double(g[3 * i]), Double(g[3 * i + 1]), Double(g[3 * i + 2]))
      let b = SIMD3<Double>(
        Double(exact[3 * i]), Double(exact[3 * i + 1]), Double(exact[3 * i + 2]))
      let c = (a * b).sum() / max(1e-12, ((a * a).sum() * (b * b).sum()).squareRoot())
      angle += acos(min(1, max(-1, c))) * 180 / .pi
    }
    let mesh = try model.extractMesh(resolution: 128)
    let chamfer = try MeshComparison(mesh, reference, samples: m).chamfer
    print(
      String(
        format: "IoU %.4f, normals %.2f deg, Chamfer %.2e", Double(both) / Double(max(either, 1)),
        angle / Double(m), chamfer))
  }
} catch {
  print("error: \(error)")
  exit(1)
}
