"""skorch nets (one loss each) and the training-loop glue shared by estimators."""
