import ArgumentParser
import Foundation
import Models
import Store

/// `undersigned switch`: optional work switched off or on at run time, on every instance within seconds.
struct SwitchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switch", abstract: "List the run-time switches, or switch one off or on (every instance within seconds).",
        discussion: "Switches: " + Switch.allCases.map { "\($0.rawValue) (\($0.meaning))" }.joined(separator: "; "))

    @Argument(help: "off or on; nothing: list them.") var state: String?
    @Argument(help: "The switch.") var name: String?

    func validate() throws {
        guard let state else { return }
        guard state == "on" || state == "off" else { throw ValidationError("say on or off") }
        guard let name, Switch(rawValue: name) != nil else {
            throw ValidationError("name a switch: \(Switch.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        let connection = try Environment().connect()
        if let state, let which = name.flatMap(Switch.init(rawValue:)) {
            try Switches.set(which, on: state == "on", on: connection)
            Swift.print("\(which.rawValue) is \(state) (every instance within 2 s)")
            return
        }
        Self.table(try Switches.all(on: connection))
    }

    static func table(_ switches: [(which: Switch, on: Bool, changedAt: Date?)]) {
        Swift.print("switch".column(20) + "state  since")
        for entry in switches {
            Swift.print(entry.which.rawValue.column(20) + (entry.on ? "on" : "OFF").column(7) + (entry.changedAt.map(Timestamp.format) ?? "-"))
        }
    }
}
