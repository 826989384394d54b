import ArgumentParser
import Store

struct RecountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recount",
        abstract: "Recompute counts from the signatures table and report (or, with --fix, repair) any difference.")

    @Flag(help: "Rewrite counters that differ (tally's writes wait meanwhile).") var fix = false

    func run() throws {
        let connection = try Environment().connect()
        let report = try Recount.check(on: connection)
        for (petition, count) in report.signatures.sorted(by: { $0.key < $1.key }) {
            print("\(petition): \(count) signatures\(report.uncounted[petition].map { ", \($0) not counted yet" } ?? "")")
        }
        for difference in report.differences {
            print("  \(difference.petition) \(difference.country) \(difference.channel): counters say \(difference.actual), signatures say \(difference.expected)")
        }
        if report.differences.isEmpty {
            print("counts agree with the signatures table")
            return
        }
        guard fix else { throw ExitCode(1) }
        let fixed = try Recount.fix(on: connection)
        print("fixed \(fixed.count) counter(s)")
    }
}
