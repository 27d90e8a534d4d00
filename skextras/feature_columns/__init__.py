"""TensorFlow-exact feature columns as scikit-learn transformers."""
