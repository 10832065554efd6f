"""From vectors to names: classifier heads, whitening, the stranger score and threshold, the `Recogniser`
estimator, assigning names within a photo and the `Prediction` values. Imports only the layers below."""
