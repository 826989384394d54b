import Intake
import ServiceSupport

await ServiceMain.run(
    "intake", configuration: IntakeConfiguration.init(environment:), logLevel: \.common.logLevel,
    application: { configuration, logger in IntakeService.build(configuration: configuration, logger: logger) })
