import Foundation
import XCTest

@testable import Lamina

/// The first optimizer steps of an MLP (Adam, AdamW, SGD with momentum), a tri-plane field
/// (Adam) and a B-spline KAN (Adam) against the float64 references in
/// Tests/Data/optimizer_trajectories.json (torch.optim for the MLP and the field, torch's
/// Adam re-implemented on Lamina's gradients for the KAN; made by
/// Tests/Reference/optimizer_trajectory_reference.py, whose tolerance is at least 10 times
/// tighter than dropping Adam's bias correction or a wrong beta or epsilon gives). The Python
/// (test_optimizer_trajectories.py) and C (test_trajectories.c) suites check the same values.
final class OptimizerTrajectoryTests: XCTestCase {
  static let path = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Data/optimizer_trajectories.json")

  func floats(_ value: Any?) -> [Float] {
    ((value as? [Any]) ?? []).flatMap { ($0 as? [Double]) ?? [($0 as? Double) ?? .nan] }.map(
      Float.init)
  }

  func testFirstStepsMatchTheReference() throws {
    let root = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(contentsOf: Self.path)) as? [String: Any])
    let tolerance = try XCTUnwrap(root["tolerance"] as? [String: Double])
    let (atol, rtol, lossRtol) = (
      tolerance["weight_atol"]!, tolerance["weight_rtol"]!, tolerance["loss_rtol"]!
    )
    let steps = try XCTUnwrap(root["steps"] as? Int)
    let cases = try XCTUnwrap(root["cases"] as? [[String: Any]])
    XCTAssertEqual(cases.count, 5)
    for c in cases {
      let name = c["name"] as! String
      let x = floats(c["x"])
      let y = floats(c["y"])
      let n = (c["x"] as! [Any]).count
      let spec = String(
        data: try JSONSerialization.data(withJSONObject: c["spec"]!), encoding: .utf8)!
      var config = c["config"] as! [String: Any]
      config["batch_size"] = n
      config["shuffle"] = false
      let model = try Model(json: spec)
      for (tensor, values) in c["init"] as! [String: [Double]] {
        try XCTUnwrap(model.tensor(named: tensor), "\(name): \(tensor)").value = values.map(
          Float.init)
      }
      let trainer = try Trainer(
        model: model,
        json: String(data: try JSONSerialization.data(withJSONObject: config), encoding: .utf8)!)
      let losses = c["losses"] as! [Double]
      let weights = c["weights"] as! [[String: [Double]]]
      for step in 0..<steps {
        let loss = Double(try trainer.step(x, y, count: n))
        XCTAssertEqual(
          loss, losses[step], accuracy: lossRtol * abs(losses[step]),
          "\(name): loss before step \(step + 1)")
        for (tensor, want) in weights[step] {
          let got = model.tensor(named: tensor)!.value
          for (i, (g, w)) in zip(got, want).enumerated()
          where !(abs(Double(g) - w) <= atol + rtol * abs(w)) {
            XCTFail("\(name): \(tensor)[\(i)] after step \(step + 1) is \(g), reference \(w)")
            break
          }
        }
      }
    }
  }
}
