"""Reports gatekit reads or writes around gates: JUnit, KPI, SARIF, and log masking."""
