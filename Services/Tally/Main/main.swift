import Tally
import ServiceSupport

await ServiceMain.run(
    "tally", configuration: TallyConfiguration.init(environment:), logLevel: \.common.logLevel,
    application: { configuration, logger in TallyService.build(configuration: configuration, logger: logger) })
