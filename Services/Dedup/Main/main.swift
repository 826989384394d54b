import Dedup
import ServiceSupport

await ServiceMain.run(
    "dedup", configuration: DedupConfiguration.init(environment:), logLevel: \.common.logLevel,
    application: { configuration, logger in try DedupService.build(configuration: configuration, logger: logger) })
