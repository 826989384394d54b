import Dedup
import ServiceSupport

await ServiceMain.run(
    "dedup", configuration: DedupConfiguration.init(environment:), logLevel: \.common.logLevel,
    application: { configuration, logger in DedupService.build(configuration: configuration, logger: logger) })
