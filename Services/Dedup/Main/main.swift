import Dedup
import Foundation
import Logging
import ServiceSupport

do {
    let configuration = try DedupConfiguration(environment: ProcessInfo.processInfo.environment)
    Observability.bootstrap(level: configuration.common.logLevel)
    try await DedupService.build(configuration: configuration, logger: Logger(label: "undersigned.dedup")).runService()
} catch let error as ConfigurationError {
    FileHandle.standardError.write(Data("undersigned-dedup: \(error)\n".utf8))
    exit(78)  // EX_CONFIG
}
