import ArgumentParser
import Ctl

// The entry point; @main on an async command runs it asynchronously (loadgen and dead are async).
@main
extension Undersigned {}
