// A Swift program using Lamina directly: fit y = sin(pi x0) * cos(pi x1) with an MLP,
// report the error, save and reload the model.  Run with `swift run lamina-swift-example`.
import Lamina

#if canImport(Glibc)
  import Glibc
#endif

var rng = RandomSource(seed: 42)
func sample(_ n: Int) -> (x: [Float], y: [Float]) {
  var x: [Float] = []
  var y: [Float] = []
  for _ in 0..<n {
    let a = Float(rng.uniform(-1, 1))
    let b = Float(rng.uniform(-1, 1))
    x += [a, b]
    y.append(sinf(.pi * a) * cosf(.pi * b))
  }
  return (x, y)
}

do {
  let model = try Model(MLPSpec(input: 2, hidden: [32, 32], output: 1, activation: "tanh"))
  var config = TrainerConfig()
  config.learningRate = 0.01
  config.epochs = 40
  config.batchSize = 64
  config.schedule = .cosine
  let trainer = Trainer(model: model, config: config)
  let train = sample(2000)
  let test = sample(500)
  try trainer.fit(x: train.x, y: train.y) { p in
    if p.epoch % 10 == 0 { print("epoch \(p.epoch)/\(p.epochs)  loss \(p.loss)") }
    return true
  }
  let rmse = try trainer.evaluate(x: test.x, y: test.y).squareRoot()
  print("test RMSE \(rmse)")
  let path = "swift_example_model.safetensors"
  try model.save(to: path)
  let reloaded = try Model.load(from: path)
  let same = try reloaded.predict(test.x) == model.predict(test.x)
  print("reloaded model predicts identically: \(same)")
  unlink(path)
  if !same || rmse > 0.1 { exit(1) }
} catch let error as LaminaError {
  print("lamina error: \(error.message)")
  exit(1)
}
